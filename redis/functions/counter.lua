#!lua name=counter
-- The counting service's server-side functions (Redis Functions, loaded by start-redis.sh at
-- every start with FUNCTION LOAD REPLACE). The app calls only these, with FCALL / FCALL_RO.
--
-- Key layout of one counter (namespace ns, key k); every key carries the hash tag {ns/k}, so
-- one call touches one Redis Cluster slot:
--   c:{ns/k}            hash    v = the value, t = created (ms), r/lo/hi = enable_reset and the
--                               update bounds when not the defaults, YYYYMMDD = hits that day.
--                               Only ever written with HINCRBY, so every field stays a number.
--   a:{ns/k}            string  SHA-256 (hex) of the owner's admin key, for counters made by /create
--   u:{ns/k}:YYYYMMDD   HLL     unique visitors of that day
--   r:{ns/k}:ID         string  the reply already given to the request with Idempotency-Key ID
--   h:{ns/k}:WINDOW     hash    Idempotency-Key -> the answer already given to that hit, for the
--                               hits of one window of marker_ttl seconds (WINDOW = seconds / ttl,
--                               by the app's clock); a hit looks in its window and the ones before
--                               and after, so a marker lasts at least marker_ttl and replicas whose
--                               clocks differ by less than that find each other's: one hash per
--                               window rather than a key per hit
-- and, outside any counter: salt:YYYYMMDD (the day's visitor-hash salt), stats (a hash).
-- What the operator's dashboard shows lives under the one hash tag {instance} (one Cluster slot):
--   {instance}:replicas      zset    replica name -> when it last reported (ms)
--   {instance}:load:SECONDS  hash    replica name -> requests it served in the 10 s from SECONDS
--   {instance}:top:YYYYMMDD  zset    counter path -> hits that day (the busiest kept, see report)
--   {instance}:config        hash    settings start-redis.sh read at start (appendfsync)
--
-- Replies are flat arrays of integers and strings. A call that carries a marker (the last KEYS
-- entry of the mutating functions; for hits, an Idempotency-Key argument) is answered once: a repeat with the same key gets the
-- first reply and changes nothing, so nginx retrying a request on another replica, or a client
-- library re-sending after a failover, never counts twice. Nothing after a function's first write
-- can fail (Redis does not roll a function back), so every check comes before it.

local VERSION = 3 -- FUNCTIONS_VERSION in src/store/keys.ts
local MAX_HITS_PER_CALL = 1000 -- MAX_HITS_PER_CALL in src/store/keys.ts

local function replay(marker)
  if not marker then return nil end
  local seen = redis.call('GET', marker)
  if seen then return cjson.decode(seen) end
  return nil
end

local function remember(marker, ttl, reply)
  if marker then redis.call('SET', marker, cjson.encode(reply), 'EX', ttl) end
  return reply
end

local function expire_all(ttl, ...)
  if ttl > 0 then
    for _, key in ipairs({...}) do redis.call('EXPIRE', key, ttl) end
  end
end

-- Compares two hex digests without stopping at the first difference.
local function same_digest(a, b)
  if not a or not b or #a ~= #b or #a == 0 then return false end
  local diff = 0
  for i = 1, #a do diff = bit.bor(diff, bit.bxor(a:byte(i), b:byte(i))) end
  return diff == 0
end

local function is_owner(admin_key, presented)
  return presented ~= '' and same_digest(redis.call('GET', admin_key), presented)
end

-- A presented admin key that is not the owner's is refused outright, whatever the counter allows.
local function wrong_key(admin_key, presented)
  return presented ~= '' and not is_owner(admin_key, presented)
end

local function field(counter, name, default)
  return tonumber(redis.call('HGET', counter, name)) or default
end

-- Sets a numeric field that may not exist yet, with HINCRBY only (see the layout above).
local function init_field(counter, name, value)
  if redis.call('HEXISTS', counter, name) == 0 then redis.call('HINCRBY', counter, name, value) end
end

-- Drops day fields older than `oldest` (YYYYMMDD); runs on a counter's first hit of a day.
local function trim_history(counter, oldest)
  for _, name in ipairs(redis.call('HKEYS', counter)) do
    if #name == 8 and tonumber(name) and tonumber(name) < oldest then redis.call('HDEL', counter, name) end
  end
end

-- A hit's answer as a marker field keeps: the value, and '+' when that hit made the counter.
local function hit_answer(field)
  local made = field:sub(-1) == '+'
  return {tonumber(made and field:sub(1, -2) or field), made and 1 or 0}
end

-- Hits of one counter on one day, as many as the app gathered in one turn of its event loop
-- (group commit: one call, one script run and one reply for all of them).
-- KEYS: c, u (the day's uniques), then the hit markers of this window, the last and the next
--       (the next: a replica whose clock runs ahead may have written there)
-- ARGV: now_ms, day, ttl_s (0 = never expires), oldest_day (0 = no history), uniques_ttl_s,
--       marker_ttl_s (the window), then two per hit: visitor ('' = not counted as a unique) and
--       its Idempotency-Key ('' = none)
-- Reply: two per hit, in order: value (the counter after this hit), created (1 for the hit that
-- made the counter). A hit whose key was seen in one of those windows gets its first answer
-- again and counts nothing, also when the same key comes twice in one call.
local function hit(keys, args)
  local counter, uniques, markers_now = keys[1], keys[2], keys[3]
  local hits = (#args - 6) / 2
  -- unpack() fails beyond Lua's stack (about 8,000), and nothing may fail after the first write.
  if hits > MAX_HITS_PER_CALL then return redis.error_reply('ERR at most ' .. MAX_HITS_PER_CALL .. ' hits per call') end
  local named = {}
  for i = 1, hits do
    if args[6 + 2 * i] ~= '' then named[#named + 1] = args[6 + 2 * i] end
  end
  local seen = {}
  if #named > 0 then
    for w = 3, #keys do
      local found = redis.call('HMGET', keys[w], unpack(named))
      for j, name in ipairs(named) do seen[name] = seen[name] or found[j] end
    end
  end
  local reply, fresh, first_of, repeats, visitors = {}, {}, {}, {}, {}
  for i = 1, hits do
    local name = args[6 + 2 * i]
    if seen[name] then
      local answer = hit_answer(seen[name])
      reply[2 * i - 1], reply[2 * i] = answer[1], answer[2]
    elseif first_of[name] then
      repeats[i] = first_of[name] -- the same request twice: answered after counting, below
    else
      fresh[#fresh + 1] = i
      if name ~= '' then first_of[name] = i end
      if args[5 + 2 * i] ~= '' then visitors[#visitors + 1] = args[5 + 2 * i] end
    end
  end
  local n = #fresh
  if n == 0 then return reply end
  local created = redis.call('EXISTS', counter) == 0
  local total = redis.call('HINCRBY', counter, 'v', n)
  if created then redis.call('HINCRBY', counter, 't', tonumber(args[1])) end
  local oldest = tonumber(args[4])
  if oldest > 0 and redis.call('HINCRBY', counter, args[2], n) == n then trim_history(counter, oldest) end
  if #visitors > 0 and redis.call('PFADD', uniques, unpack(visitors)) == 1 and redis.call('TTL', uniques) == -1 then
    redis.call('EXPIRE', uniques, tonumber(args[5]))
  end
  expire_all(tonumber(args[3]), counter)
  local remembered = {}
  for position, i in ipairs(fresh) do
    local value, made = total - n + position, created and position == 1
    reply[2 * i - 1], reply[2 * i] = value, made and 1 or 0
    if args[6 + 2 * i] ~= '' then
      remembered[#remembered + 1] = args[6 + 2 * i]
      remembered[#remembered + 1] = made and (value .. '+') or tostring(value)
    end
  end
  if #remembered > 0 then
    redis.call('HSET', markers_now, unpack(remembered))
    -- Set once, when the window's first marker is written: it outlives the next window's lookups.
    redis.call('EXPIRE', markers_now, 2 * tonumber(args[6]), 'NX')
  end
  for i, first in pairs(repeats) do reply[2 * i - 1], reply[2 * i] = reply[2 * first - 1], reply[2 * first] end
  return reply
end

-- KEYS: c, a, [r]; ARGV: now_ms, value, enable_reset (0/1), lower, upper, admin_hash, ttl_s, marker_ttl_s
-- Reply: {1, value} created, {0, value} it existed already (nothing changed)
local function create(keys, args)
  local seen = replay(keys[3])
  if seen then return seen end
  local counter, admin = keys[1], keys[2]
  if redis.call('EXISTS', counter) == 1 then return {0, field(counter, 'v', 0)} end
  redis.call('DEL', admin)
  local total = redis.call('HINCRBY', counter, 'v', tonumber(args[2]))
  redis.call('HINCRBY', counter, 't', tonumber(args[1]))
  if args[3] == '1' then redis.call('HINCRBY', counter, 'r', 1) end
  if tonumber(args[4]) ~= -1 then redis.call('HINCRBY', counter, 'lo', tonumber(args[4])) end
  if tonumber(args[5]) ~= 1 then redis.call('HINCRBY', counter, 'hi', tonumber(args[5])) end
  if args[6] ~= '' then redis.call('SET', admin, args[6]) end
  expire_all(tonumber(args[7]), counter, admin)
  return remember(keys[3], tonumber(args[8]), {1, total})
end

-- KEYS: c, a, [r]; ARGV: value, presented_hash ('' = none), ttl_s, marker_ttl_s
-- Reply: {1, old, new} | {0} missing | {2} not allowed (no enable_reset and not the owner, or a wrong key)
local function set(keys, args)
  local seen = replay(keys[3])
  if seen then return seen end
  local counter, admin = keys[1], keys[2]
  local old = tonumber(redis.call('HGET', counter, 'v'))
  if not old then return {0} end
  if wrong_key(admin, args[2]) then return {2} end
  if field(counter, 'r', 0) ~= 1 and not is_owner(admin, args[2]) then return {2} end
  local new = tonumber(args[1])
  redis.call('HINCRBY', counter, 'v', new - old)
  expire_all(tonumber(args[3]), counter, admin)
  return remember(keys[3], tonumber(args[4]), {1, old, new})
end

-- KEYS: c, a, [r]; ARGV: amount, presented_hash, ttl_s, marker_ttl_s
-- Reply: {1, value} | {0} missing | {2} amount outside the counter's bounds (owners may exceed them), or a wrong key
local function update(keys, args)
  local seen = replay(keys[3])
  if seen then return seen end
  local counter, admin = keys[1], keys[2]
  if redis.call('EXISTS', counter) == 0 then return {0} end
  if wrong_key(admin, args[2]) then return {2} end
  local amount = tonumber(args[1])
  local outside = amount < field(counter, 'lo', -1) or amount > field(counter, 'hi', 1)
  if outside and not is_owner(admin, args[2]) then return {2} end
  local total = redis.call('HINCRBY', counter, 'v', amount)
  expire_all(tonumber(args[3]), counter, admin)
  return remember(keys[3], tonumber(args[4]), {1, total})
end

-- KEYS: c, a, u... (every day's uniques key the app may have written); ARGV: presented_hash
-- Reply: {1} deleted | {0} missing | {2} not the owner
local function delete(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return {0} end
  if not is_owner(keys[2], args[1]) then return {2} end
  -- One key per DEL: the ACL grants DEL per kind of key, and a selector must cover every key of a command.
  for _, key in ipairs(keys) do redis.call('DEL', key) end
  return {1}
end

-- KEYS: c, a; Reply: {} missing, else {value, created_ms, enable_reset, lower, upper, has_owner, ttl_s}
local function info(keys)
  local counter = keys[1]
  local value = redis.call('HGET', counter, 'v')
  if not value then return {} end
  return {
    tonumber(value), field(counter, 't', 0), field(counter, 'r', 0), field(counter, 'lo', -1),
    field(counter, 'hi', 1), redis.call('EXISTS', keys[2]), redis.call('TTL', counter),
  }
end

-- KEYS: c; Reply: the value, or nil when the counter does not exist
local function get(keys)
  return redis.call('HGET', keys[1], 'v')
end

-- KEYS: c, u per day...; ARGV: the days (YYYYMMDD), same order as the uniques keys
-- Reply: {hits_1, uniques_1, hits_2, uniques_2, ...}
local function history(keys, args)
  local reply = {}
  for i, day in ipairs(args) do
    reply[#reply + 1] = tonumber(redis.call('HGET', keys[1], day)) or 0
    reply[#reply + 1] = redis.call('PFCOUNT', keys[i + 1])
  end
  return reply
end

-- KEYS: salt:DAY; ARGV: a fresh random salt, ttl_s. Reply: the day's salt (the first one set wins).
local function salt(keys, args)
  redis.call('SET', keys[1], args[1], 'NX', 'EX', tonumber(args[2]))
  return redis.call('GET', keys[1])
end

-- KEYS: stats; ARGV: requests, keys_created, keys_updated (added by each replica about once a
-- second, and by the one answering /stats, which shows the totals this returns)
-- Reply: {requests, keys_created, keys_updated}, the totals after adding
local function stats_add(keys, args)
  return {
    redis.call('HINCRBY', keys[1], 'requests', tonumber(args[1])),
    redis.call('HINCRBY', keys[1], 'keys_created', tonumber(args[2])),
    redis.call('HINCRBY', keys[1], 'keys_updated', tonumber(args[3])),
  }
end

-- What a replica did since its last report (about twice a second), for the operator's dashboard
-- and the live pages. Also its heartbeat: a replica that stops reporting is no longer listed.
-- KEYS: {instance}:replicas, {instance}:load:SECONDS, {instance}:top:YYYYMMDD
-- ARGV: now_ms, replica, requests, load_ttl_s, top_ttl_s, top_keep, changes (JSON for the channel
--       counter-updates, '' = none), then pairs of counter path and hits
local function report(keys, args)
  local now, replica, requests = tonumber(args[1]), args[2], tonumber(args[3])
  redis.call('ZADD', keys[1], now, replica)
  -- Replicas gone for an hour are forgotten.
  redis.call('ZREMRANGEBYSCORE', keys[1], '-inf', now - 3600000)
  if requests > 0 then
    redis.call('HINCRBY', keys[2], replica, requests)
    redis.call('EXPIRE', keys[2], tonumber(args[4]))
  end
  if #args > 7 then
    for i = 8, #args, 2 do redis.call('ZINCRBY', keys[3], tonumber(args[i + 1]), args[i]) end
    -- Only the busiest are kept, so a day with a million counters costs a bounded set.
    redis.call('ZREMRANGEBYRANK', keys[3], 0, -tonumber(args[6]) - 1)
    redis.call('EXPIRE', keys[3], tonumber(args[5]))
  end
  if args[7] ~= '' then redis.call('PUBLISH', 'counter-updates', args[7]) end
  return 1
end

-- The operator's view. KEYS: {instance}:replicas, {instance}:top:YYYYMMDD, {instance}:config,
-- then the load buckets (oldest first). ARGV: alive_since_ms, top_count
-- Reply: {replicas (name, last_ms, ...), busiest (path, hits, ...), config (field, value, ...),
--         INFO memory and persistence, then per load bucket: {replica, requests, ...}}
local function instance(keys, args)
  local reply = {
    redis.call('ZRANGE', keys[1], args[1], '+inf', 'BYSCORE', 'WITHSCORES'),
    redis.call('ZRANGE', keys[2], 0, tonumber(args[2]) - 1, 'REV', 'WITHSCORES'),
    redis.call('HGETALL', keys[3]),
    redis.call('INFO', 'memory') .. redis.call('INFO', 'persistence'),
  }
  for i = 4, #keys do reply[#reply + 1] = redis.call('HGETALL', keys[i]) end
  return reply
end

-- Run once by start-redis.sh as an administrator, never by the app: moves the count of the first
-- release (the plain key `visits`) into the counter default/visits. Idempotent.
-- KEYS: visits, c:{default/visits}; ARGV: now_ms
local function migrate_legacy(keys, args)
  local old = redis.call('GET', keys[1])
  if not old then return 0 end
  redis.call('HINCRBY', keys[2], 'v', tonumber(old))
  init_field(keys[2], 't', tonumber(args[1]))
  redis.call('DEL', keys[1])
  return tonumber(old)
end

local function register(name, callback, read_only)
  redis.register_function{function_name = name, callback = callback, flags = read_only and {'no-writes'} or {}}
end

register('counter_version', function() return VERSION end, true)
register('counter_hit', hit)
register('counter_create', create)
register('counter_set', set)
register('counter_update', update)
register('counter_delete', delete)
register('counter_info', info, true)
register('counter_get', get, true)
register('counter_history', history) -- PFCOUNT may write (it caches), so not no-writes
register('counter_salt', salt)
register('counter_stats_add', stats_add)
register('counter_migrate_legacy', migrate_legacy)
register('counter_report', report)
register('counter_instance', instance, true)
