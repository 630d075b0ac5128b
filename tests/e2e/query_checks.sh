# What pgcqrs-query reads, compared with what SQL says of the write model (psql with the
# caller's PG* settings). Source it with QUERY set to the pgcqrs-query binary; each check
# prints both sides and returns 1 when they differ. Extra arguments go to pgcqrs-query
# (--after TOKEN --timeout MS, credentials).

# same_top LIMIT [ARG...]: the ranking of products by revenue over the orders not cancelled,
# highest first, equal revenues by id as text, descending (ZREVRANGE's order of equal
# scores), merged from every bucket's top_products.
same_top() {
  local limit=$1 got want
  shift
  got=$("$QUERY" top-products --limit "$limit" "$@" --json | jq -r '.[] | "\(.product_id) \(.revenue)"') || return 1
  want=$(psql -qAt -F ' ' -c "SELECT p.id, coalesce(sum(i.quantity * i.unit_price)
                                                 FILTER (WHERE o.status <> 'cancelled'), 0)::numeric(20,2) AS revenue
                              FROM products p LEFT JOIN order_items i ON i.product_id = p.id
                              LEFT JOIN orders o ON o.id = i.order_id
                              GROUP BY p.id ORDER BY revenue DESC, p.id::text COLLATE \"C\" DESC LIMIT $limit")
  [ "$got" = "$want" ] || { echo "reader: $got"; echo "write model: $want"; return 1; }
}

# same_orders USER LIMIT [ARG...]: the user's newest LIMIT orders, with their user's name and
# their totals, in user_orders' order: by created_at in milliseconds, the newest first, equal
# ones by id as text, descending (docs/read-models.md).
same_orders() {
  local user=$1 limit=$2 got want
  shift 2
  got=$("$QUERY" user-orders "$user" --limit "$limit" "$@" --json | jq -r '.[] | "\(.order_id) \(.user_name) \(.total)"') ||
    return 1
  want=$(psql -qAt -F ' ' -c "SELECT o.id, u.name, coalesce((SELECT sum(quantity * unit_price) FROM order_items
                                                             WHERE order_id = o.id), 0)::numeric(20,2)
                              FROM orders o JOIN users u ON u.id = o.user_id WHERE o.user_id = $user
                              ORDER BY floor(extract(epoch FROM o.created_at) * 1000) DESC,
                                       o.id::text COLLATE \"C\" DESC LIMIT $limit")
  [ "$got" = "$want" ] || { echo "reader: $got"; echo "write model: $want"; return 1; }
}
