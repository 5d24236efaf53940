package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// Instances is the service.Instances registry in one hash,
// {prefix}{core}:instances: instance id → JSON of the instance and the
// Redis time (ms) its heartbeat expires. Expiry is judged by Redis's clock,
// so instances with skewed clocks agree on who is alive.
type Instances struct {
	rdb goredis.UniversalClient
	key string
}

// NewInstances returns the registry on rdb; an empty prefix means DefaultPrefix.
func NewInstances(rdb goredis.UniversalClient, prefix string) *Instances {
	return &Instances{rdb: rdb, key: coreKey(keyPrefix(prefix), "instances")}
}

var _ service.Instances = (*Instances)(nil)

type instanceRecord struct {
	service.Instance
	ExpiresMs int64 `json:"expires_ms"`
}

// heartbeatScript stores ARGV[2] (JSON without expiry) with the expiry
// Redis TIME + ARGV[3] ms. KEYS registry; ARGV id, json, ttl ms.
var heartbeatScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rec = cjson.decode(ARGV[2])
rec['expires_ms'] = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec))
return 1
`)

// liveScript returns the records not yet expired and deletes the others.
var liveScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local ok, rec = pcall(cjson.decode, all[i+1])
  if ok and type(rec) == 'table' and tonumber(rec['expires_ms']) and tonumber(rec['expires_ms']) > now then
    out[#out+1] = all[i+1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return out
`)

func (r *Instances) Heartbeat(ctx context.Context, in service.Instance, ttl time.Duration) error {
	if in.ID == "" || ttl < time.Millisecond {
		return service.Errorf(service.EINVALID, "heartbeat needs an instance id and a ttl")
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("redis instances: encode %s: %w", in.ID, err)
	}
	if err := heartbeatScript.Run(ctx, r.rdb, []string{r.key}, in.ID, b, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis instances: heartbeat %s: %w", in.ID, err)
	}
	return nil
}

func (r *Instances) Live(ctx context.Context) ([]service.Instance, error) {
	vals, err := liveScript.Run(ctx, r.rdb, []string{r.key}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis instances: live: %w", err)
	}
	out := make([]service.Instance, 0, len(vals))
	for _, v := range vals {
		var rec instanceRecord
		if json.Unmarshal([]byte(v), &rec) == nil {
			out = append(out, rec.Instance)
		}
	}
	slices.SortFunc(out, func(a, b service.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (r *Instances) Leave(ctx context.Context, id string) error {
	if err := r.rdb.HDel(ctx, r.key, id).Err(); err != nil {
		return fmt.Errorf("redis instances: leave %s: %w", id, err)
	}
	return nil
}
