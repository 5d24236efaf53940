package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"
)

// Devices keeps the simulated phones' paired devices (session id → JID) in
// one hash, {prefix}{core}:devices, so every gateway instance can reconnect
// any paired session: it implements sim.Devices.
type Devices struct {
	rdb      goredis.UniversalClient
	key      string
	replicas *replicaAcks
}

// WaitReplicas makes SaveDevice wait for n replicas to have the device.
func (d *Devices) WaitReplicas(n int) *Devices { d.replicas = &replicaAcks{n: n}; return d }

// NewDevices returns the device store on rdb; an empty prefix means DefaultPrefix.
func NewDevices(rdb goredis.UniversalClient, prefix string) *Devices {
	return &Devices{rdb: rdb, key: coreKey(keyPrefix(prefix), "devices")}
}

func (d *Devices) Device(ctx context.Context, sessionID string) (string, bool, error) {
	jid, err := d.rdb.HGet(ctx, d.key, sessionID).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("redis devices: get %s: %w", sessionID, err)
	}
	return jid, true, nil
}

func (d *Devices) SaveDevice(ctx context.Context, sessionID, jid string) error {
	// Unconfirmed is accepted: see docs/scaling.md (Sentinel and failover).
	cmd, _ := acked(ctx, d.rdb, d.replicas, func(p goredis.Pipeliner) *goredis.IntCmd {
		return p.HSet(ctx, d.key, sessionID, jid)
	})
	if err := cmd.Err(); err != nil {
		return fmt.Errorf("redis devices: save %s: %w", sessionID, err)
	}
	return nil
}

func (d *Devices) DeleteDevice(ctx context.Context, sessionID string) error {
	if err := d.rdb.HDel(ctx, d.key, sessionID).Err(); err != nil {
		return fmt.Errorf("redis devices: delete %s: %w", sessionID, err)
	}
	return nil
}

func (d *Devices) Devices(ctx context.Context) ([]string, error) {
	ids, err := d.rdb.HKeys(ctx, d.key).Result()
	if err != nil {
		return nil, fmt.Errorf("redis devices: list: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}
