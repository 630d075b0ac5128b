// TRUNCATE's walk over every order on a Redis Cluster, where SCAN answers for one node only:
// the masters one after the other, each SCANned to its end. A key that moves during the walk
// from a master not yet walked to one already walked would be missed, so the walk names the
// cluster's layout it runs under (which master serves which slot, and any slot migrating, as
// CLUSTER NODES says), checked before and after each page; if it changed, the walk starts
// again from the first master. The projector meets some orders twice, which changes nothing.
//
// The cursor the projector keeps (and the checkpoint, between batches) is
// "c<layout digest>.<master index>.<that master's SCAN cursor>"; "0" is a walk's start and end,
// as SCAN's.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgcqrs::sidecar::cluster {

struct Layout {
  std::string digest;                // changes whenever a key may move between masters
  std::vector<std::string> masters;  // ids of the masters with slots, sorted: the walk's order
};

// From CLUSTER NODES' reply; nullopt when no master serves a slot.
std::optional<Layout> parse_layout(std::string_view cluster_nodes);

struct WalkCursor {
  std::string digest;
  size_t master = 0;
  std::string cursor = "0";  // that master's SCAN cursor
};

// "0" and anything that is no walk cursor (a cursor of a SCAN on one Redis): nullopt, and the
// walk starts at the first master.
std::optional<WalkCursor> parse_walk_cursor(std::string_view text);
std::string format_walk_cursor(const WalkCursor& c);

}  // namespace pgcqrs::sidecar::cluster
