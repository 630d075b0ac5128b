// TRUNCATE's walk over every order on a Redis Cluster, where SCAN answers for one node only.
// Every read-model key carries its bucket's tag (keys.hpp), so the orders live in the 64
// buckets' slots. The walk SCANs one master to its end, then another that serves a bucket not
// yet done, until every bucket is done.
//
// A master's full SCAN returns every key it held throughout, so it finishes the buckets whose
// slot it served, not migrating, at every check: CLUSTER NODES is read before and after each
// page. A bucket whose slot moved or migrated meanwhile is not finished by that SCAN; it is
// walked again where it lands (a master already walked is walked again whole). A failover
// changes the master's id: its SCAN cursor means nothing on the new one, which starts anew.
// The projector meets some orders twice, which changes nothing.
//
// The cursor the projector keeps (and the checkpoint, between batches) is
// "w<done>.<held>.<master id>.<its SCAN cursor>", done and held bit masks of the buckets in
// hex; "0" is a walk's start and end, as SCAN's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs::sidecar::cluster {

inline constexpr uint64_t kAllBuckets = ~uint64_t{0};  // Keys::kBuckets == 64

// Who serves each bucket's slot, and whether it migrates, as CLUSTER NODES says.
struct Layout {
  std::string owner[64];  // master id; "" when no master serves it
  uint64_t migrating = 0;  // buckets whose slot is being migrated
  // The buckets the master serves, not migrating.
  uint64_t held_by(const std::string& id) const;
};

Layout parse_layout(std::string_view cluster_nodes);

struct WalkCursor {
  uint64_t done = 0;     // buckets walked
  uint64_t held = 0;     // buckets the master being walked has served, not migrating, at every check
  std::string master;    // the master being walked ("" between two)
  std::string cursor = "0";  // its SCAN cursor
};

// "0" and anything that is no walk cursor: the walk's start.
WalkCursor parse_walk_cursor(std::string_view text);
// "0" once every bucket is done.
std::string format_walk_cursor(const WalkCursor& c);

// Before a page: the master to SCAN and from where (the one under way, if it still serves a
// bucket not done; else the master of the first bucket not done, from "0"). nullopt when
// every bucket is done, or no master serves the next.
std::optional<WalkCursor> before_page(WalkCursor at, const Layout& now);
// After the page the SCAN answered with next_cursor.
WalkCursor after_page(WalkCursor at, const Layout& now, const std::string& next_cursor);

}  // namespace pgcqrs::sidecar::cluster
