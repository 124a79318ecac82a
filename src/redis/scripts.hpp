// The Lua scripts that keep the cluster's registry in Redis. Each runs
// atomically, so a limit checked in one holds when it writes, and the
// presence events it publishes carry the room's sequence number in the order
// Redis applied them. ARGV[1] is always the key prefix (default
// "switchboard:"). Keys (P = prefix):
//
//   P ids                  the user ID counter (INCRBY, a block per call)
//   P node-ids             the node ID counter
//   P nodes                sorted set: node ID -> lease expiry (Redis TIME, ms)
//   P node:<n>:users       set: the users of node n
//   P users                hash: user ID -> "<node>|<room>|<client address>"
//   P profiles             hash: user ID -> its profile (a JSON object)
//   P room:<r>             hash: user ID -> node ID, the members of room r
//   P seq:<r>              room r's event counter
//   P rooms                set: the rooms with a user
//   P opener               hash: room -> the client address that opened it
//   P addr:<a>             hash: c = users of address a, r = rooms it opened
//
// Channels: P ch:room:<r> carries "j <seq> <id> <node> <profile>", "l <seq> <id>"
// and "m <seq> <id> <node>" (resumed on another node);
// P ch:node:<n> carries "d <to> <room>\n<message>" (a routed message),
// "k <id> <code> <reason>" (close that user's connection: host control),
// "c ..." and "C ..." (a resume that reached another node: the claim and its
// answer, see cluster_events.hpp) and
// "h <nonce>" (the node's own heartbeat, published to hear it back).
#pragma once

namespace switchboard::redis::detail::scripts {

/** Shared by the scripts below: remove one user, publish its `l` event, free its counts. */
inline constexpr const char* common = R"lua(
local P = ARGV[1]
local function with_profiles(out, members)
  for i = 1, #members, 2 do
    out[#out + 1] = members[i]
    out[#out + 1] = members[i + 1]
    out[#out + 1] = redis.call('HGET', P .. 'profiles', members[i]) or '{}'
  end
  return out
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function release(addr, field)
  if addr == '' then return end
  local k = P .. 'addr:' .. addr
  redis.call('HINCRBY', k, field, -1)
  if tonumber(redis.call('HGET', k, 'c') or '0') <= 0 and tonumber(redis.call('HGET', k, 'r') or '0') <= 0 then
    redis.call('DEL', k)
  end
end
local function remove_user(id)
  local record = redis.call('HGET', P .. 'users', id)
  if not record then return false end
  local a = string.find(record, '|', 1, true)
  local b = string.find(record, '|', a + 1, true)
  local node, room, addr = string.sub(record, 1, a - 1), string.sub(record, a + 1, b - 1), string.sub(record, b + 1)
  redis.call('HDEL', P .. 'users', id)
  redis.call('HDEL', P .. 'profiles', id)
  redis.call('SREM', P .. 'node:' .. node .. ':users', id)
  redis.call('HDEL', P .. 'room:' .. room, id)
  local seq = redis.call('INCR', P .. 'seq:' .. room)
  redis.call('PUBLISH', P .. 'ch:room:' .. room, 'l ' .. seq .. ' ' .. id)
  release(addr, 'c')
  if redis.call('EXISTS', P .. 'room:' .. room) == 0 then
    redis.call('SREM', P .. 'rooms', room)
    redis.call('DEL', P .. 'seq:' .. room)
    local opener = redis.call('HGET', P .. 'opener', room)
    redis.call('HDEL', P .. 'opener', room)
    if opener then release(opener, 'r') end
  end
  return true
end
)lua";

/**
 * ARGV: P, room, id, node, address, max users per room, max rooms, max
 * connections per address, max rooms per address (0: none), profile.
 * Returns {"ok", seq, id1, node1, profile1, id2, node2, profile2, ...} (the
 * members before this one), or {code}: fenced, id-taken, room-full,
 * too-many-rooms, too-many-rooms-per-address, too-many-connections.
 */
inline constexpr const char* join = R"lua(
local room, id, node, addr = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_users, max_rooms = tonumber(ARGV[6]), tonumber(ARGV[7])
local max_conns, max_opened = tonumber(ARGV[8]), tonumber(ARGV[9])
local profile = ARGV[10]
if not redis.call('ZSCORE', P .. 'nodes', node) then return {'fenced'} end
if redis.call('HEXISTS', P .. 'users', id) == 1 then return {'id-taken'} end
local members = P .. 'room:' .. room
local exists = redis.call('EXISTS', members) == 1
local counts = P .. 'addr:' .. addr
if addr ~= '' and max_conns > 0 and tonumber(redis.call('HGET', counts, 'c') or '0') >= max_conns then
  return {'too-many-connections'}
end
if not exists then
  if redis.call('SCARD', P .. 'rooms') >= max_rooms then return {'too-many-rooms'} end
  if addr ~= '' and max_opened > 0 and tonumber(redis.call('HGET', counts, 'r') or '0') >= max_opened then
    return {'too-many-rooms-per-address'}
  end
elseif redis.call('HLEN', members) >= max_users then
  return {'room-full'}
end
local present = redis.call('HGETALL', members)
local seq = redis.call('INCR', P .. 'seq:' .. room)
if not exists then
  redis.call('SADD', P .. 'rooms', room)
  if addr ~= '' then
    redis.call('HSET', P .. 'opener', room, addr)
    redis.call('HINCRBY', counts, 'r', 1)
  end
end
redis.call('HSET', members, id, node)
redis.call('HSET', P .. 'users', id, node .. '|' .. room .. '|' .. addr)
redis.call('HSET', P .. 'profiles', id, profile)
redis.call('SADD', P .. 'node:' .. node .. ':users', id)
if addr ~= '' then redis.call('HINCRBY', counts, 'c', 1) end
redis.call('PUBLISH', P .. 'ch:room:' .. room, 'j ' .. seq .. ' ' .. id .. ' ' .. node .. ' ' .. profile)
return with_profiles({'ok', seq}, present)
)lua";

/** ARGV: P, id, node. Removes the user if that node holds it; returns 1, else 0. */
inline constexpr const char* leave = R"lua(
local record = redis.call('HGET', P .. 'users', ARGV[2])
if not record or string.sub(record, 1, #ARGV[3] + 1) ~= ARGV[3] .. '|' then return 0 end
remove_user(ARGV[2])
return 1
)lua";

/**
 * ARGV: P, lease (ms). A new node: its ID, its lease started. Returns the ID.
 */
inline constexpr const char* register_node = R"lua(
local node = redis.call('INCR', P .. 'node-ids')
redis.call('ZADD', P .. 'nodes', now_ms() + tonumber(ARGV[2]), node)
return node
)lua";

/**
 * ARGV: P, node, lease (ms). Renews the node's lease and reaps up to 8
 * nodes whose lease ran out: each of their users is removed (with its `l`
 * event). Returns {0} when the node itself was reaped (fenced), else
 * {1, nodes alive, users reaped}.
 */
inline constexpr const char* renew = R"lua(
local now = now_ms()
if not redis.call('ZSCORE', P .. 'nodes', ARGV[2]) then return {0} end
redis.call('ZADD', P .. 'nodes', now + tonumber(ARGV[3]), ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', '(' .. now, 'LIMIT', 0, 8)
local reaped = 0
for _, n in ipairs(dead) do
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'node:' .. n .. ':users')) do
    if remove_user(id) then reaped = reaped + 1 end
  end
  redis.call('DEL', P .. 'node:' .. n .. ':users')
  redis.call('ZREM', P .. 'nodes', n)
end
return {1, redis.call('ZCARD', P .. 'nodes'), reaped}
)lua";

/** ARGV: P, node. A node leaving for good: its users removed, its lease ended. Returns the users removed. */
inline constexpr const char* deregister = R"lua(
local removed = 0
for _, id in ipairs(redis.call('SMEMBERS', P .. 'node:' .. ARGV[2] .. ':users')) do
  if remove_user(id) then removed = removed + 1 end
end
redis.call('DEL', P .. 'node:' .. ARGV[2] .. ':users')
redis.call('ZREM', P .. 'nodes', ARGV[2])
return removed
)lua";

/**
 * ARGV: P, count. Reserves `count` user IDs; returns the last. A counter
 * that does not exist (a new cluster, or a Redis that lost its data) starts
 * at the current time in seconds times 10^6, so IDs handed out before a
 * Redis restart are not handed out again unless the cluster averaged more
 * than a million joins a second.
 */
inline constexpr const char* reserve_ids = R"lua(
local k = P .. 'ids'
if redis.call('EXISTS', k) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', k, string.format('%d', tonumber(t[1]) * 1000000))
end
return redis.call('INCRBY', k, tonumber(ARGV[2]))
)lua";

/** ARGV: P, room. {seq, id1, node1, profile1, ...}: the room as it is now. */
inline constexpr const char* snapshot = R"lua(
local seq = tonumber(redis.call('GET', P .. 'seq:' .. ARGV[2]) or '0')
return with_profiles({seq}, redis.call('HGETALL', P .. 'room:' .. ARGV[2]))
)lua";

/**
 * ARGV: P, id, from node, to node. The user resumed on another node: its
 * records move there, and the room hears "m <seq> <id> <to>" (routing
 * changes; presence does not). Returns 1, or 0 when `from` does not hold it
 * or `to` has no lease.
 */
inline constexpr const char* move_user = R"lua(
local id, from, to = ARGV[2], ARGV[3], ARGV[4]
local record = redis.call('HGET', P .. 'users', id)
if not record or string.sub(record, 1, #from + 1) ~= from .. '|' then return 0 end
if not redis.call('ZSCORE', P .. 'nodes', to) then return 0 end
local rest = string.sub(record, #from + 2)
local room = string.sub(rest, 1, string.find(rest, '|', 1, true) - 1)
redis.call('HSET', P .. 'users', id, to .. '|' .. rest)
redis.call('SREM', P .. 'node:' .. from .. ':users', id)
redis.call('SADD', P .. 'node:' .. to .. ':users', id)
redis.call('HSET', P .. 'room:' .. room, id, to)
local seq = redis.call('INCR', P .. 'seq:' .. room)
redis.call('PUBLISH', P .. 'ch:room:' .. room, 'm ' .. seq .. ' ' .. id .. ' ' .. to)
return 1
)lua";

/** ARGV: P. The rooms with a user, on any node. */
inline constexpr const char* list_rooms = R"lua(
return redis.call('SMEMBERS', P .. 'rooms')
)lua";

/** ARGV: P, id. {node, room} of the user, or {} when nobody has the ID. */
inline constexpr const char* locate_user = R"lua(
local record = redis.call('HGET', P .. 'users', ARGV[2])
if not record then return {} end
local a = string.find(record, '|', 1, true)
local b = string.find(record, '|', a + 1, true)
return {string.sub(record, 1, a - 1), string.sub(record, a + 1, b - 1)}
)lua";

/** ARGV: P, id. 1 if a user holds the ID anywhere in the cluster. */
inline constexpr const char* id_taken = R"lua(
return redis.call('HEXISTS', P .. 'users', ARGV[2])
)lua";

}  // namespace switchboard::redis::detail::scripts
