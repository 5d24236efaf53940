package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"wagateway/mocklaravel"
)

// The alert rules and the dashboard name metrics by hand; this test keeps
// them true as the metrics change: it runs the real wiring (sim phones,
// Redis, the mock Laravel), makes traffic of every kind, scrapes /metrics,
// and fails on any metric named in ops/ that the gateway does not serve.
// Run by make alerts-test (with promtool test rules) and make unit.

const (
	alertRulesFile = "../../../ops/prometheus/alerts.yml"
	dashboardFile  = "../../../ops/grafana/wagateway.json"
)

// metricName finds our metric names in a PromQL expression; every metric
// the rules and the dashboard use is one of ours (namespace wagateway).
var metricName = regexp.MustCompile(`\bwagateway_[a-z0-9_]+`)

type alertRules struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleMetrics returns the metrics each alert's expression names, by alert,
// and checks every rule has a runbook line.
func ruleMetrics(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", alertRulesFile, err)
	}
	out := map[string][]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if strings.TrimSpace(r.Annotations["runbook"]) == "" {
				t.Errorf("alert %s has no runbook annotation", r.Alert)
			}
			// Runbook lines name metrics to look at: they must exist too.
			out["alert "+r.Alert] = metricName.FindAllString(r.Expr+" "+r.Annotations["runbook"], -1)
			if len(metricName.FindAllString(r.Expr, -1)) == 0 {
				t.Errorf("alert %s: no wagateway_ metric in %q", r.Alert, r.Expr)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no alert rules", alertRulesFile)
	}
	return out
}

type grafanaDashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// dashboardMetrics returns the metrics each panel's queries name, by panel.
func dashboardMetrics(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	out := map[string][]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricName.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: no wagateway_ metric in %q", p.Title, tg.Expr)
			}
			out["panel "+p.Title] = append(out["panel "+p.Title], names...)
		}
	}
	for _, v := range d.Templating.List {
		if names := metricName.FindAllString(v.Definition, -1); len(names) > 0 {
			out["variable "+v.Name] = names
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no panels", dashboardFile)
	}
	return out
}

func TestOpsMetricsExist(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// Items of user_refused fail validation: dead letters and 422s.
	_, laravelURL := serveLaravel(t, mocklaravel.Config{}, "user_refused")
	_, closeMain, base := startFastOnRedis(t, laravelURL, map[string]string{"SIM_SCAN_DELAY": "1ms"})
	post := func(path, body string) {
		t.Helper()
		post(t, base+path, body)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sessionHas := func(id, want string) func() bool {
		return func() bool {
			_, body := get(t, base+"/sessions/"+id)
			return strings.Contains(body, want)
		}
	}

	// Traffic of every kind: QR codes, a pairing, a ban, a logout through
	// the API, a refused session, a lookup of an unknown session.
	for _, id := range []string{"user_1", "user_2", "user_refused"} {
		post("/start", `{"session_id":"`+id+`"}`)
	}
	for _, id := range []string{"user_1", "user_2"} {
		waitFor(id+" QR", sessionHas(id, `"qr":"data:image/png`))
		post("/sim/sessions/"+id+"/scan", `{}`)
		waitFor(id+" active", sessionHas(id, `"estado_qr":"active"`))
	}
	post("/sim/sessions/user_1/close", `{"reason":"banned"}`)
	post("/sessions/user_2/logout", `{}`)
	get(t, base+"/sessions/user_unknown")
	waitFor("a dead letter", func() bool {
		_, body := get(t, base+"/metrics/batch")
		var bm struct {
			DeadLettered int64 `json:"deadLettered"`
			Sent         int64 `json:"sent"`
		}
		_ = json.Unmarshal([]byte(body), &bm)
		return bm.DeadLettered > 0 && bm.Sent > 0
	})

	code, text := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	served := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		served[line[:strings.IndexAny(line, "{ ")]] = true
	}

	named := ruleMetrics(t)
	for k, v := range dashboardMetrics(t) {
		named[k] = v
	}
	users := map[string][]string{} // metric → where it is named
	for where, names := range named {
		for _, n := range names {
			users[n] = append(users[n], where)
		}
	}
	var missing []string
	for n, where := range users {
		if !served[n] {
			sort.Strings(where)
			missing = append(missing, n+" (named by "+strings.Join(where, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, mm := range missing {
		t.Errorf("not served by /metrics: %s", mm)
	}
	if len(missing) > 0 {
		t.Logf("served: %v", keys(served))
		return
	}
	t.Logf("%d metrics named by %d alerts, panels and variables: all served", len(users), len(named))
	// Stopped before the mock Laravel, so the final flush reaches it.
	if err := closeMain(); err != nil {
		t.Error(err)
	}
}

func redisURL(o *goredis.Options) string {
	return "redis://" + o.Addr + "/" + strconv.Itoa(o.DB)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
