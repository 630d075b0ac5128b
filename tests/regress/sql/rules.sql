-- Every business rule, enforced for plain SQL, with its SQLSTATE and a message naming the row.
INSERT INTO users (id, name, email) VALUES (1, 'Ada', 'ada@example.com'), (2, 'Bob', 'bob@example.com');
INSERT INTO users (id, name, email, is_active) VALUES (3, 'Cy', 'cy@example.com', false);
INSERT INTO products (id, name, price) VALUES (1, 'Widget', 9.99), (2, 'Gadget', 5.00);
INSERT INTO products (id, name, price, is_active) VALUES (3, 'Relic', 1.00, false);

-- An order needs an existing, active user; it starts as pending.
SELECT try($$INSERT INTO orders (id, user_id) VALUES (100, 99)$$);
SELECT try($$INSERT INTO orders (id, user_id) VALUES (100, 3)$$);
SELECT try($$INSERT INTO orders (id, user_id, status) VALUES (100, 1, 'paid')$$);
SELECT try($$INSERT INTO orders (id, user_id, status) VALUES (100, 1, 'lost')$$);
SELECT try($$INSERT INTO orders (id, user_id) VALUES (100, 1)$$);

-- An item needs an existing order and an active product; unit_price defaults to the price.
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (999, 1, 1)$$);
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (100, 99, 1)$$);
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (100, 3, 1)$$);
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (100, 1, 0)$$);
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (100, 1, 2)$$);
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (100, 2, 1, 4.50)$$);
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (100, 1, 1)$$);
-- Repricing never changes past orders.
UPDATE products SET price = 12.00 WHERE id = 1;
SELECT order_id, product_id, quantity, unit_price FROM order_items WHERE order_id = 100 ORDER BY product_id;

-- Prices are non-negative numbers.
SELECT try($$UPDATE products SET price = -1 WHERE id = 1$$);
SELECT try($$UPDATE products SET price = 'NaN' WHERE id = 1$$);

-- Ids, orders.user_id, order_items.order_id/product_id and creation times are immutable.
SELECT try($$UPDATE users SET id = 50 WHERE id = 1$$);
SELECT try($$UPDATE users SET created_at = created_at - interval '1 day' WHERE id = 1$$);
SELECT try($$UPDATE products SET id = 50 WHERE id = 1$$);
SELECT try($$UPDATE orders SET id = 50 WHERE id = 100$$);
SELECT try($$UPDATE orders SET user_id = 2 WHERE id = 100$$);
SELECT try($$UPDATE orders SET created_at = now() - interval '1 day' WHERE id = 100$$);
SELECT try($$UPDATE order_items SET product_id = 2 WHERE order_id = 100 AND product_id = 1$$);
SELECT try($$UPDATE order_items SET order_id = 1 WHERE order_id = 100 AND product_id = 1$$);

-- updated_at is kept by the extension: it moves with the status only.
UPDATE orders SET updated_at = '2000-01-01' WHERE id = 100;
SELECT updated_at = created_at AS untouched FROM orders WHERE id = 100;

-- Status moves only pending->paid->shipped->delivered, or pending|paid->cancelled.
SELECT try($$UPDATE orders SET status = 'shipped' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'delivered' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'paid' WHERE id = 100$$);
SELECT updated_at > created_at AS moved FROM orders WHERE id = 100;
-- Items change only while the order is pending.
SELECT try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (100, 2, 1)$$);
SELECT try($$UPDATE order_items SET quantity = 5 WHERE order_id = 100$$);
SELECT try($$DELETE FROM order_items WHERE order_id = 100$$);
SELECT try($$UPDATE orders SET status = 'pending' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'shipped' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'cancelled' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'delivered' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'cancelled' WHERE id = 100$$);
SELECT try($$UPDATE orders SET status = 'pending' WHERE id = 100$$);

-- Deleting what others reference is refused; deleting an order takes its items along.
SELECT try($$DELETE FROM users WHERE id = 1$$);
SELECT try($$DELETE FROM products WHERE id = 1$$);
SELECT try($$DELETE FROM orders WHERE id = 100$$);
SELECT count(*) AS items_left FROM order_items WHERE order_id = 100;

-- place_order: the command handler.
SELECT try($$SELECT place_order(1, '[]')$$);
SELECT try($$SELECT place_order(1, '{"product_id": 1}')$$);
SELECT try($$SELECT place_order(1, NULL)$$);
SELECT try($$SELECT place_order(NULL, '[{"product_id": 1, "quantity": 1}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": 1}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": "1", "quantity": 1}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": 1, "quantity": 1.5}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": 1, "quantity": 0}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]')$$);
SELECT try($$SELECT place_order(3, '[{"product_id": 1, "quantity": 1}]')$$);
SELECT try($$SELECT place_order(99, '[{"product_id": 1, "quantity": 1}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": 3, "quantity": 1}]')$$);
SELECT try($$SELECT place_order(1, '[{"product_id": 99, "quantity": 1}]')$$);
-- A failed command writes nothing.
SELECT count(*) AS orders FROM orders;
SELECT place_order(2, '[{"product_id": 2, "quantity": 3}, {"product_id": 1, "quantity": 1}]') > 0 AS placed;
SELECT o.user_id, o.status, i.product_id, i.quantity, i.unit_price
  FROM orders o JOIN order_items i ON i.order_id = o.id ORDER BY i.product_id;

-- At most 1000 items, the most one OrderPlaced carries; a duplicate is found by hashing, here
-- the last of 1000 items. Messages quote at most 100 characters of what the writer sent.
INSERT INTO products (id, name, price) SELECT p, 'Bulk ' || p, 1.00 FROM generate_series(1001, 2000) p;
SELECT try($$SELECT place_order(1, (SELECT jsonb_agg(jsonb_build_object('product_id', p, 'quantity', 1))
                                      FROM generate_series(1001, 2001) p))$$);
SELECT try($$SELECT place_order(1, (SELECT jsonb_agg(jsonb_build_object('product_id', p, 'quantity', 1))
                                      FROM generate_series(1001, 1999) p) || '[{"product_id": 1500, "quantity": 1}]')$$);
SELECT place_order(1, (SELECT jsonb_agg(jsonb_build_object('product_id', p, 'quantity', 1))
                         FROM generate_series(1001, 2000) p)) > 0 AS placed_1000;
SELECT count(*) AS items, sum(quantity * unit_price) AS total FROM order_items WHERE product_id > 1000;
SELECT try(format($$SELECT place_order(1, '[{"product_id": "%s", "quantity": 1}]')$$, repeat('7', 100000)));
SELECT try(format($$INSERT INTO orders (user_id, status) VALUES (1, %L)$$, repeat('x', 100000)));
SELECT try(format($$UPDATE orders SET status = %L WHERE user_id = 2$$, repeat('y', 100000)));

TRUNCATE users, products, orders, order_items RESTART IDENTITY;
