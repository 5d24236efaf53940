package doccheck

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"wagateway/service/config"
)

// root is the repository root, seen from this package's directory.
const root = "../.."

// pages are the documents whose commands and links must keep working.
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md found")
	}
	out := []string{
		filepath.Join(root, "README.md"),
		filepath.Join(root, "contracts", "README.md"),
		filepath.Join(root, "mocklaravel", "README.md"),
		filepath.Join(root, "loadtest", "results", "README.md"),
	}
	return append(out, docs...)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	fenceRE      = regexp.MustCompile("(?ms)^[ \t]*```[^\n]*\n.*?^[ \t]*```[ \t]*$")
	inlineCodeRE = regexp.MustCompile("`[^`\n]+`")
	makeRE       = regexp.MustCompile(`(?:^|[\s(;&|$])make ([a-z][a-z0-9-]*)`)
	targetRE     = regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`)
	linkRE       = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE    = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *#*$`)
	pathRE       = regexp.MustCompile(`(?:^|[\s=])(\./[A-Za-z0-9_./-]+|scripts/[a-z0-9_-]+\.sh)`)
	configVarRE  = regexp.MustCompile(`r\.[a-zA-Z]+\("([A-Z][A-Z0-9_]*)"`)
	tableRowRE   = regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\| ([^|]*) \\|")
)

// code returns the fenced blocks and inline code spans of a markdown page:
// where commands are written.
func code(page string) []string {
	out := fenceRE.FindAllString(page, -1)
	rest := fenceRE.ReplaceAllString(page, "")
	for _, m := range inlineCodeRE.FindAllString(rest, -1) {
		out = append(out, strings.Trim(m, "`"))
	}
	return out
}

// prose is the page without its fenced code blocks (headings there are
// comments, not anchors).
func prose(page string) string { return fenceRE.ReplaceAllString(page, "") }

func TestMakeTargetsExist(t *testing.T) {
	targets := map[string]bool{}
	for _, m := range targetRE.FindAllStringSubmatch(read(t, filepath.Join(root, "Makefile")), -1) {
		targets[m[1]] = true
	}
	if !targets["test"] || !targets["lint"] {
		t.Fatalf("Makefile targets not parsed: %v", targets)
	}
	seen := 0
	for _, p := range pages(t) {
		for _, c := range code(read(t, p)) {
			for _, m := range makeRE.FindAllStringSubmatch(c, -1) {
				seen++
				if !targets[m[1]] {
					t.Errorf("%s: `make %s` is not a Makefile target", rel(p), m[1])
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d make commands found in the docs: is the parser broken?", seen)
	}
}

func TestPathsExist(t *testing.T) {
	for _, p := range pages(t) {
		for _, c := range code(read(t, p)) {
			for _, m := range pathRE.FindAllStringSubmatch(c, -1) {
				path := strings.TrimRight(strings.TrimSuffix(m[1], "..."), "/.")
				if path == "" {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, path)); err != nil {
					t.Errorf("%s: %s does not exist", rel(p), m[1])
				}
			}
		}
	}
}

func TestLinksResolve(t *testing.T) {
	links := 0
	for _, p := range pages(t) {
		for _, m := range linkRE.FindAllStringSubmatch(prose(read(t, p)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			file, anchor, _ := strings.Cut(target, "#")
			dest := p
			if file != "" {
				dest = filepath.Join(filepath.Dir(p), file)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %s: %v", rel(p), target, err)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s: link %s: anchor into a non-markdown file", rel(p), target)
				continue
			}
			if !slices.Contains(anchors(read(t, dest)), anchor) {
				t.Errorf("%s: link %s: no heading %q in %s (have %v)", rel(p), target, anchor, rel(dest), anchors(read(t, dest)))
			}
		}
	}
	if links < 10 {
		t.Fatalf("only %d relative links found: is the parser broken?", links)
	}
}

// anchors are the heading ids a markdown renderer gives a page: lower case,
// punctuation dropped, spaces as hyphens, repeats numbered.
func anchors(page string) []string {
	var out []string
	count := map[string]int{}
	for _, m := range headingRE.FindAllStringSubmatch(prose(page), -1) {
		id := slug(m[1])
		if n := count[id]; n > 0 {
			count[id]++
			id = id + "-" + strconv.Itoa(n)
		} else {
			count[id] = 1
		}
		out = append(out, id)
	}
	return out
}

func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Signed requests to Laravel":                             "signed-requests-to-laravel",
		"Quick run (`make loadtest-quick`, part of `make test`)": "quick-run-make-loadtest-quick-part-of-make-test",
		"1,000 sessions, real time":                              "1000-sessions-real-time",
		"The checklist's four checks, by hand":                   "the-checklists-four-checks-by-hand",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestConfigurationPage: docs/configuration.md lists every variable
// service/config reads, and each documented default is the real one:
// setting a variable to its documented default changes nothing.
func TestConfigurationPage(t *testing.T) {
	src, err := filepath.Glob(filepath.Join(root, "service", "config", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, f := range src {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range configVarRE.FindAllStringSubmatch(read(t, f), -1) {
			vars[m[1]] = true
		}
	}
	if len(vars) < 20 {
		t.Fatalf("only %d variables found in service/config: is the parser broken?", len(vars))
	}

	page := read(t, filepath.Join(root, "docs", "configuration.md"))
	gateway, _, _ := strings.Cut(page[strings.Index(page, "## The gateway"):], "\n## ")
	documented := map[string]string{}
	for _, m := range tableRowRE.FindAllStringSubmatch(gateway, -1) {
		documented[m[1]] = strings.TrimSpace(m[2])
	}
	for v := range vars {
		if _, ok := documented[v]; !ok {
			t.Errorf("docs/configuration.md does not list %s (read in service/config)", v)
		}
	}

	none := func(string) string { return "" }
	want, err := config.Load(none)
	if err != nil {
		t.Fatalf("defaults do not load: %v", err)
	}
	checked := 0
	for v, def := range documented {
		if !vars[v] {
			t.Errorf("docs/configuration.md lists %s, which service/config does not read", v)
			continue
		}
		if def == "empty" || !strings.HasPrefix(def, "`") || strings.HasPrefix(def, "`<") {
			continue // empty, or computed (INSTANCE_ID)
		}
		value := strings.Trim(def, "`")
		got, err := config.Load(func(name string) string {
			if name == v {
				return value
			}
			return ""
		})
		if err != nil {
			t.Errorf("%s=%s (the documented default) is refused: %v", v, value, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: documented default %s is not the default", v, value)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d defaults checked: is the table parser broken?", checked)
	}
}

func rel(path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}
