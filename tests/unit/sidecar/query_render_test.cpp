#include "pgcqrs/sidecar/query/render.hpp"

#include <gtest/gtest.h>

using namespace pgcqrs::sidecar::query;

namespace {
Hash order42() {
  return {{"order_id", "42"}, {"user_id", "7"}, {"user_name", "Zoë\nAdne"}, {"user_email", "z@example.com"},
          {"status", "paid"}, {"created_at", "2026-01-02T03:04:05.000006Z"},
          {"updated_at", "2026-01-02T03:05:00.000000Z"}, {"item_count", "2"}, {"total", "24.98"},
          {"items", R"([{"product_id":1,"product_name":"Pen","quantity":2,"unit_price":"9.99","line_total":"19.98"},)"
                    R"({"product_id":2,"product_name":"Ink ☕","quantity":1,"unit_price":"5.00","line_total":"5.00"}])"},
          {"lsn", "0/1A2B"}};
}
}  // namespace

TEST(QueryRender, OrderJsonKeepsTypes) {
  EXPECT_EQ(order_json(order42()),
            R"({"created_at":"2026-01-02T03:04:05.000006Z","item_count":2,"items":[{"line_total":"19.98","product_id":1,"product_name":"Pen","quantity":2,"unit_price":"9.99"},{"line_total":"5.00","product_id":2,"product_name":"Ink ☕","quantity":1,"unit_price":"5.00"}],"lsn":"0/1A2B","order_id":42,"status":"paid","total":"24.98","updated_at":"2026-01-02T03:05:00.000000Z","user_email":"z@example.com","user_id":7,"user_name":"Zoë\nAdne"})"
            "\n");
}

TEST(QueryRender, OrderTableShowsFieldsAndItems) {
  EXPECT_EQ(order_table(order42()),
            "order 42  paid  total 24.98\n"
            "  user     7 Zoë Adne <z@example.com>\n"
            "  created  2026-01-02T03:04:05.000006Z\n"
            "  updated  2026-01-02T03:05:00.000000Z\n"
            "  lsn      0/1A2B\n"
            "  items    2\n"
            "    1       Pen                             2 x     9.99        19.98\n"
            "    2       Ink ☕                           1 x     5.00        5.00\n");
}

TEST(QueryRender, OrdersTableSummarizesItemsOnOneLine) {
  EXPECT_EQ(orders_table({order42()}),
            "order     status     created_at                   total       items\n"
            "42        paid       2026-01-02T03:04:05.000006Z  24.98       2 x Pen, 1 x Ink ☕\n");
}

TEST(QueryRender, ProductsAsTableAndJson) {
  std::vector<Hash> products = {{{"product_id", "3"}, {"name", "Pen"}, {"price", "1.50"}, {"is_active", "true"},
                                 {"units_sold", "12"}, {"revenue", "18.00"}}};
  EXPECT_EQ(products_table(products),
            "product   name                            price       units     revenue\n"
            "3         Pen                             1.50        12        18.00\n");
  EXPECT_EQ(products_json(products),
            R"([{"is_active":true,"name":"Pen","price":"1.50","product_id":3,"revenue":"18.00","units_sold":12}])" "\n");
}

TEST(QueryRender, MalformedItemsRenderAsEmpty) {
  Hash o = order42();
  o["items"] = "not json";
  EXPECT_NE(order_json(o).find(R"("items":[])"), std::string::npos);
}
