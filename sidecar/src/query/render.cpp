// Table and JSON renderings of read-model hashes for pgcqrs-query.
#include "pgcqrs/sidecar/query/render.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

namespace pgcqrs::sidecar::query {
namespace {

using nlohmann::json;

std::string field(const Hash& h, const std::string& name) {
  auto it = h.find(name);
  return it == h.end() ? "" : it->second;
}

json items_of(const Hash& order) {
  json items = json::parse(field(order, "items"), nullptr, false);
  return items.is_array() ? items : json::array();
}

// Integers stay numbers in JSON; everything else is text as the read model holds it.
json value_of(const std::string& name, const std::string& value) {
  static const char* integers[] = {"order_id", "user_id", "product_id", "item_count", "order_count", "units_sold"};
  for (const char* n : integers)
    if (name == n && !value.empty() && value.find_first_not_of("0123456789-") == std::string::npos)
      return json(std::stoll(value));
  if (name == "is_active") return json(value == "true");
  return json(value);
}

json object_of(const Hash& h) {
  json o = json::object();
  for (const auto& [k, v] : h) o[k] = k == "items" ? items_of(h) : value_of(k, v);
  return o;
}

std::string pad(const std::string& s, size_t width) {
  // Width in code points, so that names in any script line up.
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps >= width ? s : s + std::string(width - cps, ' ');
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

}  // namespace

std::string order_table(const Hash& order) {
  std::ostringstream out;
  out << "order " << field(order, "order_id") << "  " << field(order, "status") << "  total "
      << field(order, "total") << "\n"
      << "  user     " << field(order, "user_id") << " " << one_line(field(order, "user_name")) << " <"
      << one_line(field(order, "user_email")) << ">\n"
      << "  created  " << field(order, "created_at") << "\n"
      << "  updated  " << field(order, "updated_at") << "\n"
      << "  lsn      " << field(order, "lsn") << "\n"
      << "  items    " << field(order, "item_count") << "\n";
  for (const auto& item : items_of(order)) {
    out << "    " << pad(std::to_string(item.value("product_id", 0LL)), 8)
        << pad(one_line(item.value("product_name", "")), 32) << pad(std::to_string(item.value("quantity", 0LL)) + " x", 8)
        << pad(item.value("unit_price", ""), 12) << item.value("line_total", "") << "\n";
  }
  return out.str();
}

std::string orders_table(const std::vector<Hash>& orders) {
  std::ostringstream out;
  out << pad("order", 10) << pad("status", 11) << pad("created_at", 29) << pad("total", 12) << "items\n";
  for (const auto& o : orders) {
    std::string summary;
    for (const auto& item : items_of(o)) {
      if (!summary.empty()) summary += ", ";
      summary += std::to_string(item.value("quantity", 0LL)) + " x " + one_line(item.value("product_name", ""));
    }
    out << pad(field(o, "order_id"), 10) << pad(field(o, "status"), 11) << pad(field(o, "created_at"), 29)
        << pad(field(o, "total"), 12) << summary << "\n";
  }
  return out.str();
}

std::string products_table(const std::vector<Hash>& products) {
  std::ostringstream out;
  out << pad("product", 10) << pad("name", 32) << pad("price", 12) << pad("units", 10) << "revenue\n";
  for (const auto& p : products)
    out << pad(field(p, "product_id"), 10) << pad(one_line(field(p, "name")), 32) << pad(field(p, "price"), 12)
        << pad(field(p, "units_sold"), 10) << field(p, "revenue") << "\n";
  return out.str();
}

std::string row_table(const Hash& row) {
  size_t width = 0;
  for (const auto& [name, value] : row) width = std::max(width, name.size());
  std::ostringstream out;
  for (const auto& [name, value] : row) out << pad(name, width) << "  " << value << "\n";
  return out.str();
}

// Every value as the text the model holds: a model's types are the user's, not the layout's.
std::string row_json(const Hash& row) { return json(row).dump() + "\n"; }

std::string rows_table(const std::vector<Hash>& rows) {
  std::map<std::string, size_t> widths;  // every field of any row, by name
  for (const auto& row : rows)
    for (const auto& [name, value] : row) widths[name] = std::max({widths[name], name.size(), one_line(value).size()});
  std::ostringstream out;
  const auto line = [&](const std::function<std::string(const std::string&)>& cell) {
    std::string text;
    for (const auto& [name, width] : widths) text += pad(cell(name), width + 2);
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << "\n";
  };
  line([](const std::string& name) { return name; });
  for (const auto& row : rows)
    line([&](const std::string& name) {
      const auto it = row.find(name);
      return it == row.end() ? std::string() : one_line(it->second);
    });
  return out.str();
}

std::string rows_json(const std::vector<Hash>& rows) {
  json a = json::array();
  for (const auto& row : rows) a.push_back(json(row));
  return a.dump() + "\n";
}

std::string order_json(const Hash& order) { return object_of(order).dump() + "\n"; }

std::string orders_json(const std::vector<Hash>& orders) {
  json a = json::array();
  for (const auto& o : orders) a.push_back(object_of(o));
  return a.dump() + "\n";
}

std::string products_json(const std::vector<Hash>& products) { return orders_json(products); }

}  // namespace pgcqrs::sidecar::query
