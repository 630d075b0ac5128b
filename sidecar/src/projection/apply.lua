#!lua
-- pgcqrs projection: applies a batch of source transactions (or bounded chunks of a huge one)
-- to the Redis read models and moves pgcqrs:checkpoint, all atomically. Layout and argument
-- format: docs/read-models.md. ARGV: mode slot now floor budget, then per transaction segment:
-- lsn final commit_time ntokens tokens..., the tokens being per event: type seq nargs args...
-- Money is integer cents here, never floats; LSNs are compared as numbers.
local A = ARGV  -- handlers read their arguments in place: A[b + 1] .. A[b + n]
local mode, slot, now, floor, budget = A[1], A[2], A[3], A[4], tonumber(A[5])
local CP = 'pgcqrs:checkpoint'

local function lsn_parts(s)
  local hi, lo = string.match(s or '', '^(%x+)/(%x+)$')
  if not hi then error('pgcqrs: malformed lsn ' .. tostring(s)) end
  return tonumber(hi, 16), tonumber(lo, 16)
end
-- Whether lsn s is past (hi, lo), an LSN the caller parsed once.
local function lsn_after(s, hi, lo)
  local sh, sl = lsn_parts(s)
  return sh > hi or (sh == hi and sl > lo)
end

local function money(c)
  local neg = c < 0
  if neg then c = -c end
  local s = string.format('%d.%02d', math.floor(c / 100), c % 100)
  if neg then s = '-' .. s end
  return s
end
-- A money string ("12.34", at most 2 decimals) as cents. The double nearest such a value is
-- within far less than half a cent of it below 2^53 cents, so rounding v * 100 is exact; one
-- tonumber costs a third of matching the parts (every counter read goes through here).
local function cents(s)
  local v = tonumber(s)
  if not v then return 0 end
  return math.floor(v * 100 + 0.5)
end

if mode == 'mark' then
  -- layout: the key layout this script writes (kLayout in projection/script.hpp).
  redis.call('HSET', CP, 'lsn', ARGV[6], 'slot', slot, 'updated_at', now, 'commit_time', ARGV[8], 'layout', '3')
  redis.call('HDEL', CP, 'partial_lsn', 'partial_seq', 'partial_cursor', 'dirty')
  redis.call('PUBLISH', 'pgcqrs:applied', ARGV[6])
  return {'marked', 0, 0, 0}
end

local cp_hi, cp_lo, p_lsn, p_seq, p_cursor
if mode == 'txn' then
  local cp = redis.call('HMGET', CP, 'lsn', 'partial_lsn', 'partial_seq', 'partial_cursor', 'dirty')
  if not cp[1] then return {'nocheckpoint'} end
  if lsn_after(floor, lsn_parts(cp[1])) then return {'behind', cp[1]} end
  if cp[5] then return {'dirty', cp[5]} end
  cp_hi, cp_lo = lsn_parts(cp[1])
  p_lsn, p_seq, p_cursor = cp[2], tonumber(cp[3]), cp[4]
elseif mode ~= 'snap' and mode ~= 'pages' and mode ~= 'entries' then
  error('pgcqrs: unknown mode ' .. tostring(mode))
end

-- Redis does not roll back a script that fails midway (a command refused, a bug): what it
-- wrote stays, the checkpoint does not move, and a retry would apply it twice. So before its
-- first write a call marks the checkpoint `dirty`, and clears the mark with the checkpoint
-- at its end: a mark that survives means the read models may hold part of a call, and every
-- later call answers `dirty` until the sidecar rebuilds them.
local marked = false
local function mark_dirty(at)
  if mode == 'txn' and not marked then
    redis.call('HSET', CP, 'dirty', at)
    marked = true
  end
end

local lsn          -- commit LSN of the transaction being applied: the `lsn` of what it writes
local dirty = {}   -- order id -> lsn: items JSON and totals to render at the end
-- An order's lines live in its `items` JSON only. Item events edit them here (order id ->
-- product_id -> {q, c}), read once per call, and render() writes them back at the end.
local ocache = {}
-- user_latest:{u} is a list of the JSON of the user's PAGE newest orders. OrderPlaced of the
-- newest order pushes onto it; anything else that changes the page marks the user here, and
-- the page is rendered again from the hashes at the end of the call.
local PAGE, PAGE_LAST = 10, '9'
local pages = {}   -- user id -> true
-- Products and users touched by order events are read once per call (one HMGET), their
-- counters summed in Lua and written once at the end (flush_counters): a hot product or user
-- costs two commands per call, not per item. Handlers that change users or products directly
-- call forget() first, so nothing cached is ever stale.
local pcache, ucache = {}, {}
-- Fan-out (renames) touches at most `budget` orders per call. An event that needs more stops
-- the call: its progress in the reverse index (a rank in user_orders, an SSCAN cursor in
-- product_orders) goes into the checkpoint as partial_cursor, and the sidecar sends the call
-- again until the event is done.
local fan_used = 0
local resume_cursor   -- where to resume the current event's fan-out (a string), if it stopped
local stopped_at      -- where this call's fan-out stopped, if it did

-- Calls f(order_id) for the members of zset from the resume rank, within the budget.
local function fan_out_ranks(zset, f)
  local start = tonumber(resume_cursor) or 0
  while true do
    local room = budget - fan_used
    if room <= 0 then
      stopped_at = start
      return
    end
    local ids = redis.call('ZRANGE', zset, start, start + room - 1)
    for _, o in ipairs(ids) do f(o) end
    fan_used = fan_used + #ids
    start = start + #ids
    if #ids < room then return end
  end
end

-- Calls f(order_id) for the members of set from the resume cursor, about within the budget:
-- SSCAN's COUNT is a hint, and a small set (an intset of up to 512 ids) comes whole. An id
-- may come twice; f must not mind.
local function fan_out_set(set, f)
  local cursor = resume_cursor or '0'
  repeat
    local room = budget - fan_used
    if room <= 0 then
      stopped_at = cursor
      return
    end
    local r = redis.call('SSCAN', set, cursor, 'COUNT', room)
    for _, o in ipairs(r[2]) do f(o) end
    fan_used = fan_used + #r[2]
    cursor = r[1]
  until cursor == '0'
end

local function od(o) return 'order_details:' .. o end

-- The lines of order o: product_id -> {q = quantity, c = unit price in cents}. Parsed from
-- the items JSON, whose format this script and the sidecar write: a product name is a JSON
-- string, in which every '"' is escaped, so ',"quantity":' only ever follows the name.
local function lines(o)
  local l = ocache[o]
  if not l then
    l = {}
    local json = redis.call('HGET', od(o), 'items')
    if json then
      for pid, q, price in string.gmatch(json, '"product_id":(%d+),.-,"quantity":(%d+),"unit_price":"(%-?%d+%.%d%d)"') do
        l[pid] = {q = tonumber(q), c = cents(price)}
      end
    end
    ocache[o] = l
  end
  return l
end

local function product(pid)
  local p = pcache[pid]
  if not p then
    local key = 'product:' .. pid
    local h = redis.call('HMGET', key, 'name', 'units_sold', 'revenue')
    p = {exists = h[1] ~= false, name = h[1], units = tonumber(h[2]) or 0, rev = cents(h[3] or nil)}
    p.key, p.okey = key, 'product_orders:' .. pid
    -- An items line up to its quantity: id and name as they appear in the items JSON.
    p.head = '{"product_id":' .. pid .. ',"product_name":' .. (p.exists and cjson.encode(p.name) or 'null')
    pcache[pid] = p
  end
  return p
end

local function user(u)
  local c = ucache[u]
  if not c then
    local h = redis.call('HMGET', 'user:' .. u, 'name', 'email', 'order_count', 'lifetime_value')
    c = {exists = h[1] ~= false, name = h[1], email = h[2], count = tonumber(h[3]) or 0, ltv = cents(h[4] or nil)}
    -- Name and email as JSON strings, for user_latest pages.
    c.jname, c.jemail = cjson.encode(c.name or ''), cjson.encode(c.email or '')
    ucache[u] = c
  end
  return c
end

local function product_add(pid, dq, dc)
  local p = product(pid)
  if not p.exists then return end
  p.units, p.rev, p.dirty, p.lsn = p.units + dq, p.rev + dc, true, lsn
end

local function user_add(u, dcount, dcents)
  local c = user(u)
  if not c.exists then return end
  c.count, c.ltv, c.dirty, c.lsn = c.count + dcount, c.ltv + dcents, true, lsn
end

local function flush_counters()
  local scores = {}  -- one ZADD top_products for every product changed
  for pid, p in pairs(pcache) do
    if p.dirty then
      local rev = money(p.rev)
      redis.call('HSET', p.key, 'units_sold', string.format('%d', p.units), 'revenue', rev, 'lsn', p.lsn)
      scores[#scores + 1] = rev
      scores[#scores + 1] = pid
      p.dirty = false
    end
  end
  for from = 1, #scores, 400 do  -- in slices: unpack() has a stack limit
    redis.call('ZADD', 'top_products', unpack(scores, from, math.min(from + 399, #scores)))
  end
  for u, c in pairs(ucache) do
    if c.dirty then
      redis.call('HSET', 'user:' .. u, 'order_count', string.format('%d', c.count),
        'lifetime_value', money(c.ltv), 'lsn', c.lsn)
      c.dirty = false
    end
  end
end

local function forget()
  flush_counters()
  pcache, ucache = {}, {}
end

-- Adds (sign 1) or removes (sign -1) an order's items from product stats and its total from
-- the user's lifetime value: what an order that is not cancelled contributes.
local function order_contribution(o, u, sign)
  local total = 0
  for pid, it in pairs(lines(o)) do
    product_add(pid, sign * it.q, sign * it.q * it.c)
    total = total + it.q * it.c
  end
  user_add(u, 0, sign * total)
end

local function remove_item(o, u, status, pid)
  local l = lines(o)
  local prev = l[pid]
  if not prev then return end
  l[pid] = nil
  redis.call('SREM', 'product_orders:' .. pid, o)
  if status ~= 'cancelled' then
    product_add(pid, -prev.q, -prev.q * prev.c)
    user_add(u, 0, -prev.q * prev.c)
  end
  dirty[o] = lsn
end

local function add_item(o, u, status, pid, q, c)
  remove_item(o, u, status, pid)
  q, c = tonumber(q), tonumber(c)
  lines(o)[pid] = {q = q, c = c}
  redis.call('SADD', 'product_orders:' .. pid, o)
  if status ~= 'cancelled' then
    product_add(pid, q, q * c)
    user_add(u, 0, q * c)
  end
  dirty[o] = lsn
end

-- Marks u's page for rendering if order o is on it.
local function page_touch(u, o)
  if pages[u] then return end
  local rank = redis.call('ZREVRANK', 'user_orders:' .. u, o)
  if rank and rank < PAGE then pages[u] = true end
end

local function delete_order(o)
  local h = redis.call('HMGET', od(o), 'user_id', 'status')
  if not h[1] then return end
  local u = h[1]
  page_touch(u, o)
  if h[2] ~= 'cancelled' then order_contribution(o, u, -1) end
  user_add(u, -1, 0)
  for pid in pairs(lines(o)) do redis.call('SREM', 'product_orders:' .. pid, o) end
  redis.call('DEL', od(o))
  redis.call('ZREM', 'user_orders:' .. u, o)
  ocache[o], dirty[o] = nil, nil
end

-- The JSON of one line after its product name; the sidecar sends the same text for the
-- lines of OrderPlaced (append_order_lines in sidecar/src/projection/event.cpp).
local function line_tail(q, c)
  return ',"quantity":' .. string.format('%d', q) .. ',"unit_price":"' .. money(c) ..
    '","line_total":"' .. money(q * c) .. '"}'
end

local function item_json(pid, tail)
  return product(pid).head .. tail
end

-- Writes an order's items, item_count and total from its lines (ordered by product_id).
local function render(o, at)
  local key = od(o)
  local u = redis.call('HGET', key, 'user_id')
  if not u then return end
  page_touch(u, o)
  local l = lines(o)
  local pids = {}
  for pid in pairs(l) do pids[#pids + 1] = pid end
  table.sort(pids, function(x, y) return tonumber(x) < tonumber(y) end)
  local parts, total = {}, 0
  for k, pid in ipairs(pids) do
    local it = l[pid]
    total = total + it.q * it.c
    parts[k] = item_json(pid, line_tail(it.q, it.c))
  end
  redis.call('HSET', key, 'items', '[' .. table.concat(parts, ',') .. ']', 'item_count', #pids,
    'total', money(total), 'lsn', at)
end

local function set_user_field(u, field, value, order_field)
  forget()
  local key = 'user:' .. u
  if redis.call('EXISTS', key) == 0 then return end
  redis.call('HSET', key, field, value, 'lsn', lsn)
  if order_field then
    fan_out_ranks('user_orders:' .. u, function(o)
      redis.call('HSET', od(o), order_field, value, 'lsn', lsn)
      if dirty[o] then dirty[o] = lsn end  -- its render at the end writes the newest lsn
    end)
    pages[u] = true
  end
end

local function set_product_field(p, field, value)
  forget()
  local key = 'product:' .. p
  if redis.call('EXISTS', key) == 0 then return end
  redis.call('HSET', key, field, value, 'lsn', lsn)
end

local function members(set) return redis.call('SMEMBERS', set) end

-- One order of a user_latest page: its order_details fields as a JSON object. Name and email
-- come JSON-encoded; status is one of the write model's five words.
local function page_entry(o, u, jname, jemail, status, created, updated, n, total, items, at)
  return '{"order_id":' .. o .. ',"user_id":' .. u .. ',"user_name":' .. jname ..
    ',"user_email":' .. jemail .. ',"status":"' .. status .. '"' ..
    ',"created_at":"' .. created .. '","updated_at":"' .. updated .. '","item_count":' .. n ..
    ',"total":"' .. total .. '","items":' .. items .. ',"lsn":"' .. at .. '"}'
end

-- Writes u's page again from its newest orders' hashes.
local function render_page(u)
  local lk = 'user_latest:' .. u
  redis.call('DEL', lk)
  local entries = {}
  for _, o in ipairs(redis.call('ZREVRANGE', 'user_orders:' .. u, 0, PAGE - 1)) do
    local h = redis.call('HMGET', od(o), 'user_name', 'user_email', 'status', 'created_at', 'updated_at',
      'item_count', 'total', 'items', 'lsn')
    if h[8] then
      entries[#entries + 1] = page_entry(o, u, cjson.encode(h[1]), cjson.encode(h[2]), h[3], h[4], h[5], h[6], h[7],
        h[8], h[9])
    end
  end
  if #entries > 0 then redis.call('RPUSH', lk, unpack(entries)) end
end

-- Calls f(order_id) for every order in Redis (TRUNCATE only: no index is kept for it).
local function each_order(f)
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', 'order_details:*', 'COUNT', 1000)
    cursor = r[1]
    for _, key in ipairs(r[2]) do f(string.sub(key, 15)) end
  until cursor == '0'
end

local handlers = {}

handlers.UserRegistered = function(b)
  forget()
  local u, key = A[b + 1], 'user:' .. A[b + 1]
  local fresh = redis.call('EXISTS', key) == 0
  redis.call('HSET', key, 'user_id', u, 'name', A[b + 2], 'email', A[b + 3], 'is_active', A[b + 4], 'lsn', lsn)
  if fresh then redis.call('HSET', key, 'order_count', 0, 'lifetime_value', '0.00') end
  redis.call('SADD', 'pgcqrs:users', u)
end
handlers.UserRenamed = function(b) set_user_field(A[b + 1], 'name', A[b + 2], 'user_name') end
handlers.UserEmailChanged = function(b) set_user_field(A[b + 1], 'email', A[b + 2], 'user_email') end
handlers.UserDeactivated = function(b) set_user_field(A[b + 1], 'is_active', 'false') end
handlers.UserReactivated = function(b) set_user_field(A[b + 1], 'is_active', 'true') end
handlers.UserDeleted = function(b)
  forget()
  local u = A[b + 1]
  for _, o in ipairs(redis.call('ZRANGE', 'user_orders:' .. u, 0, -1)) do delete_order(o) end
  forget()
  redis.call('DEL', 'user:' .. u, 'user_orders:' .. u, 'user_latest:' .. u)
  pages[u] = nil
  redis.call('SREM', 'pgcqrs:users', u)
end

handlers.ProductAdded = function(b)
  forget()
  local p, key = A[b + 1], 'product:' .. A[b + 1]
  local fresh = redis.call('EXISTS', key) == 0
  redis.call('HSET', key, 'product_id', p, 'name', A[b + 2], 'price', money(tonumber(A[b + 3])), 'is_active', A[b + 4], 'lsn', lsn)
  if fresh then
    redis.call('HSET', key, 'units_sold', 0, 'revenue', '0.00')
    redis.call('ZADD', 'top_products', 0, p)
  end
  redis.call('SADD', 'pgcqrs:products', p)
end
handlers.ProductRenamed = function(b)
  local p = A[b + 1]
  if redis.call('EXISTS', 'product:' .. p) == 0 then return end
  set_product_field(p, 'name', A[b + 2])
  fan_out_set('product_orders:' .. p, function(o) dirty[o] = lsn end)
end
handlers.ProductRepriced = function(b) set_product_field(A[b + 1], 'price', money(tonumber(A[b + 2]))) end
handlers.ProductDeactivated = function(b) set_product_field(A[b + 1], 'is_active', 'false') end
handlers.ProductReactivated = function(b) set_product_field(A[b + 1], 'is_active', 'true') end
handlers.ProductDeleted = function(b)
  forget()
  local p = A[b + 1]
  redis.call('DEL', 'product:' .. p, 'product_orders:' .. p)
  redis.call('ZREM', 'top_products', p)
  redis.call('SREM', 'pgcqrs:products', p)
end

-- The hot path: a new order is one HSET, its items JSON spliced from the line tails the
-- sidecar rendered and the product names, plus its index entries.
-- a: order_id user_id status created_at updated_at created_ms total n {product_id q cents tail}*n
handlers.OrderPlaced = function(b)
  local o, u, status = A[b + 1], A[b + 2], A[b + 3]
  local key, okey = od(o), 'user_orders:' .. u
  if redis.call('EXISTS', key) == 1 then delete_order(o) end
  local uc = user(u)
  local n = A[b + 8]
  local parts, total = {'['}, 0  -- the items JSON in pieces, joined once
  local counted = status ~= 'cancelled'
  for k = 0, tonumber(n) - 1 do
    local at = b + 9 + 4 * k
    local pid, q, c = A[at], tonumber(A[at + 1]), tonumber(A[at + 2])
    local p = product(pid)
    if k > 0 then parts[#parts + 1] = ',' end
    parts[#parts + 1] = p.head
    parts[#parts + 1] = A[at + 3]
    total = total + q * c
    redis.call('SADD', p.okey, o)
    if counted then product_add(pid, q, q * c) end
  end
  parts[#parts + 1] = ']'
  local items = table.concat(parts)
  redis.call('HSET', key, 'order_id', o, 'user_id', u, 'user_name', uc.name or '', 'user_email', uc.email or '',
    'status', status, 'created_at', A[b + 4], 'updated_at', A[b + 5], 'item_count', n, 'total', A[b + 7],
    'items', items, 'lsn', lsn)
  redis.call('ZADD', okey, A[b + 6], o)
  user_add(u, 1, counted and total or 0)
  ocache[o], dirty[o] = nil, nil
  if not pages[u] then
    local rank = redis.call('ZREVRANK', okey, o)
    if rank == 0 then
      local lk = 'user_latest:' .. u
      local len = redis.call('LPUSH', lk, page_entry(o, u, uc.jname, uc.jemail, status, A[b + 4], A[b + 5], n, A[b + 7], items, lsn))
      if len > PAGE then redis.call('LTRIM', lk, '0', PAGE_LAST) end
    elseif rank < PAGE then
      pages[u] = true  -- an order placed with an older created_at: render the page again
    end
  end
end
handlers.OrderItemAdded = function(b)
  local o = A[b + 1]
  local h = redis.call('HMGET', od(o), 'user_id', 'status')
  if not h[1] then return end
  add_item(o, h[1], h[2], A[b + 2], A[b + 3], A[b + 4])
end
handlers.OrderItemChanged = handlers.OrderItemAdded
handlers.OrderItemRemoved = function(b)
  local o = A[b + 1]
  local h = redis.call('HMGET', od(o), 'user_id', 'status')
  if not h[1] then return end
  remove_item(o, h[1], h[2], A[b + 2])
end
handlers.OrderStatusChanged = function(b)
  local o, to = A[b + 1], A[b + 2]
  local h = redis.call('HMGET', od(o), 'user_id', 'status')
  if not h[1] then return end
  if h[2] ~= 'cancelled' and to == 'cancelled' then
    order_contribution(o, h[1], -1)
  elseif h[2] == 'cancelled' and to ~= 'cancelled' then
    order_contribution(o, h[1], 1)
  end
  redis.call('HSET', od(o), 'status', to, 'updated_at', A[b + 3], 'lsn', lsn)
  -- An item change earlier in this call renders the order at the end: with this lsn, the
  -- newest, not the item change's.
  if dirty[o] then dirty[o] = lsn end
  page_touch(h[1], o)
end
handlers.OrderDeleted = function(b) delete_order(A[b + 1]) end

handlers.Truncated = function(b)
  forget()
  local t = {}
  for k = 2, 1 + tonumber(A[b + 1]) do t[A[b + k]] = true end
  if t.users or t.orders or t.order_items then
    local orders_gone = t.users or t.orders
    each_order(function(o)
      if orders_gone then
        redis.call('DEL', od(o))
        ocache[o], dirty[o] = nil, nil
      else
        ocache[o], dirty[o] = {}, lsn
      end
    end)
    for _, u in ipairs(members('pgcqrs:users')) do
      if orders_gone then
        redis.call('DEL', 'user_orders:' .. u, 'user_latest:' .. u)
        pages[u] = nil
        redis.call('HSET', 'user:' .. u, 'order_count', 0, 'lifetime_value', '0.00', 'lsn', lsn)
      else
        redis.call('HSET', 'user:' .. u, 'lifetime_value', '0.00', 'lsn', lsn)
      end
    end
    for _, p in ipairs(members('pgcqrs:products')) do
      redis.call('DEL', 'product_orders:' .. p)
      redis.call('HSET', 'product:' .. p, 'units_sold', 0, 'revenue', '0.00', 'lsn', lsn)
      redis.call('ZADD', 'top_products', 0, p)
    end
  end
  if t.users then
    for _, u in ipairs(members('pgcqrs:users')) do
      redis.call('DEL', 'user:' .. u, 'user_orders:' .. u, 'user_latest:' .. u)
      pages[u] = nil
    end
    redis.call('DEL', 'pgcqrs:users')
  end
  if t.products then
    for _, p in ipairs(members('pgcqrs:products')) do redis.call('DEL', 'product:' .. p, 'product_orders:' .. p) end
    redis.call('DEL', 'pgcqrs:products', 'top_products')
  end
end

-- `pages` mode: the transaction projection (sidecar/src/projection/multi_batch.cpp) runs this
-- inside its MULTI/EXEC, after its writes, with pairs `user order`: the user's page is rendered
-- again if the order is on it (the rank check page_touch makes).
if mode == 'pages' then
  local rendered = {}
  for k = 6, #A - 1, 2 do
    local u, o = A[k], A[k + 1]
    if not rendered[u] then
      local rank = redis.call('ZREVRANK', 'user_orders:' .. u, o)
      if rank and rank < PAGE then
        rendered[u] = true
        render_page(u)
      end
    end
  end
  return {'pages'}
end

-- `entries` mode: the same pairs, for orders whose status changed. The order's entry is written
-- again in place (LSET at its rank) when the page holds it there, which costs a fraction of a
-- render; a page that does not is rendered whole, as `pages` would.
if mode == 'entries' then
  for k = 6, #A - 1, 2 do
    local u, o = A[k], A[k + 1]
    local rank = redis.call('ZREVRANK', 'user_orders:' .. u, o)
    if rank and rank < PAGE then
      local lk = 'user_latest:' .. u
      local cur = redis.call('LINDEX', lk, rank)
      local h = redis.call('HMGET', od(o), 'user_name', 'user_email', 'status', 'created_at', 'updated_at',
        'item_count', 'total', 'items', 'lsn')
      if h[8] and cur and string.find(cur, '{"order_id":' .. o .. ',', 1, true) == 1 then
        redis.call('LSET', lk, rank, page_entry(o, u, cjson.encode(h[1]), cjson.encode(h[2]), h[3], h[4], h[5], h[6],
          h[7], h[8], h[9]))
      else
        render_page(u)
      end
    end
  end
  return {'entries'}
end

-- Walk the transaction segments; in txn mode skip what the checkpoint says is applied.
local applied_tx, skipped_tx, applied_events = 0, 0, 0
local done_lsn, done_time      -- last transaction completed by this call
local i, nargs = 6, #A
while i <= nargs and not stopped_at do
  local seg_lsn, final, commit_time, ntok = A[i], A[i + 1], A[i + 2], tonumber(A[i + 3])
  local j, stop = i + 4, i + 3 + ntok
  i = stop + 1
  local skip_upto = -1
  local skip = false
  if mode == 'txn' then
    if not lsn_after(seg_lsn, cp_hi, cp_lo) then
      skip = true
    elseif p_lsn == seg_lsn then
      skip_upto = p_seq
    elseif p_cursor then
      return {'blocked', applied_tx, skipped_tx, applied_events}  -- an earlier fan-out is unfinished
    end
  end
  if skip then
    if final == '1' then skipped_tx = skipped_tx + 1 end
  else
    lsn = seg_lsn
    local last_seq = skip_upto
    while j <= stop do
      local etype, seq, n = A[j], tonumber(A[j + 1]), tonumber(A[j + 2])
      if seq > skip_upto then
        if p_cursor then
          -- Only the call holding the unfinished fan-out event may go on.
          if seq ~= p_seq + 1 then return {'blocked', applied_tx, skipped_tx, applied_events} end
          resume_cursor, p_cursor = p_cursor, nil
        end
        local h = handlers[etype]
        if not h then error('pgcqrs: no projection for event type ' .. tostring(etype)) end
        mark_dirty(seg_lsn)
        h(j + 2)
        resume_cursor = nil
        applied_events = applied_events + 1
        if stopped_at then
          last_seq = seq - 1  -- everything before this event is done (gaps are application events)
          break
        end
        last_seq = seq
      end
      j = j + 3 + n
    end
    if stopped_at then
      p_lsn, p_seq = seg_lsn, last_seq
    elseif final == '1' then
      applied_tx = applied_tx + 1
      done_lsn, done_time = seg_lsn, commit_time
      cp_hi, cp_lo = lsn_parts(seg_lsn)
      p_lsn, p_seq = nil, nil
    else
      p_lsn, p_seq = seg_lsn, last_seq
    end
  end
end

flush_counters()
for o, at in pairs(dirty) do render(o, at) end
for u in pairs(pages) do render_page(u) end

if mode == 'txn' then
  if done_lsn then
    redis.call('HSET', CP, 'lsn', done_lsn, 'slot', slot, 'updated_at', now, 'commit_time', done_time)
    redis.call('PUBLISH', 'pgcqrs:applied', done_lsn)
  end
  if p_lsn then
    redis.call('HSET', CP, 'partial_lsn', p_lsn, 'partial_seq', p_seq)
  elseif done_lsn then
    redis.call('HDEL', CP, 'partial_lsn', 'partial_seq')
  end
  if stopped_at then
    redis.call('HSET', CP, 'partial_cursor', stopped_at)
  else
    redis.call('HDEL', CP, 'partial_cursor')
  end
  if marked then redis.call('HDEL', CP, 'dirty') end
end
if stopped_at then return {'more', applied_tx, skipped_tx, applied_events} end
return {'applied', applied_tx, skipped_tx, applied_events}
