/**
 * Lua shared by the Redis scripts of the edge and the consumers. Scripts take time from the Redis
 * server's clock, never from a caller's, so every writer agrees on "now".
 */

/** Sets `now` (ms) from the Redis server's clock. */
export const CLOCK = `
local clock = redis.call('time')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;
