// pgcqrs-query's output: read-model hashes as a table for people or as JSON for programs.
// Pure functions of what Redis returned, so they are unit-tested without a server.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pgcqrs::sidecar::query {

using Hash = std::map<std::string, std::string>;

// A row of a declarative read model: its fields, one per line, or a JSON object of strings.
std::string row_table(const Hash& row);
std::string row_json(const Hash& row);
// Rows of a declarative model, in order: a table whose columns are their fields (by name), or
// a JSON array of objects.
std::string rows_table(const std::vector<Hash>& rows);
std::string rows_json(const std::vector<Hash>& rows);

// One order: its fields, then its items as a small table.
std::string order_table(const Hash& order);
// A user's orders, newest first: one line per order with a summary of its items.
std::string orders_table(const std::vector<Hash>& orders);
// Products with their revenue, highest first.
std::string products_table(const std::vector<Hash>& products);

// JSON objects: numbers where the read model holds integers, money as decimal strings,
// `items` as the array it is.
std::string order_json(const Hash& order);
std::string orders_json(const std::vector<Hash>& orders);
std::string products_json(const std::vector<Hash>& products);

}  // namespace pgcqrs::sidecar::query
