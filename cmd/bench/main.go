// Command bench measures the authorizer and writes docs/BENCHMARKS.md: what
// `make bench` runs, against DynamoDB Local (started by the Makefile).
//
// Absolute times on shared machines drift, so each figure that involves the
// table is measured beside its floor in the same run, interleaved, and
// reported as a ratio.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/auditimport"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

func main() {
	out := flag.String("out", "docs/BENCHMARKS.md", "report to write")
	flag.IntVar(&cfg.samples, "samples", 3000, "samples of each measured operation")
	flag.IntVar(&cfg.coldRuns, "cold-runs", 15, "cold starts of each function")
	flag.IntVar(&cfg.rssCalls, "rss-calls", 5000, "invocations of the authorizer binary before its peak RSS is read")
	flag.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent clients of the end-to-end load")
	flag.DurationVar(&cfg.load, "load", 20*time.Second, "duration of the end-to-end load, and of its floor")
	consoleMetrics := flag.String("console-metrics", "", "write only the console's section, from this file of the browser tests' measurements")
	metricsOnly := flag.Bool("metrics-only", false, "measure and write only the metrics overhead section")
	upstreamsOnly := flag.Bool("upstreams-only", false, "measure and write only the upstream routes' section")
	coldOnly := flag.Bool("cold-starts-only", false, "measure only the functions' cold starts and sizes, and print their rows without writing the report")
	roundTripsOnly := flag.Bool("round-trips-only", false, "measure only the authorized requests' latency against F, their DynamoDB operations and round trips, and a flood of unknown tokens, and print their rows without writing the report")
	flag.Parse()
	if *roundTripsOnly {
		if err := printRoundTrips(cfg.samples); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *coldOnly {
		if err := printColdStarts(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *upstreamsOnly {
		if err := writeUpstreamsOnly(*out, cfg.samples); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *metricsOnly {
		if err := writeMetricsOnly(*out, cfg.samples); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *consoleMetrics != "" {
		if err := writeConsole(*out, *consoleMetrics); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*out, cfg.samples); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// printColdStarts measures the functions' cold starts, under the runtime
// stub and the emulator, and their sizes, and prints the report's rows.
func printColdStarts() error {
	ctx := context.Background()
	endpoint := benchEndpoint()
	table, secret, sec, drop, err := benchTable(ctx, endpoint)
	if err != nil {
		return err
	}
	defer drop()
	rows, err := functionRows(ctx, endpoint, table, secret, sec)
	if err != nil {
		return err
	}
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.what, r.figure, r.target, r.verdict)
	}
	return nil
}

// printRoundTrips measures the authorized requests against F, what they
// cost in DynamoDB operations and round trips, and a flood of unknown
// tokens, and prints the report's rows.
func printRoundTrips(samples int) error {
	ctx := context.Background()
	endpoint := benchEndpoint()
	table, secret, _, drop, err := benchTable(ctx, endpoint)
	if err != nil {
		return err
	}
	defer drop()
	rows, err := roundTripRows(ctx, endpoint, table, secret, samples)
	if err != nil {
		return err
	}
	floods, err := floodRows(ctx, endpoint, table, 1000)
	if err != nil {
		return err
	}
	for _, r := range append(rows, floods...) {
		fmt.Printf("| %s | %s | %s | %s |\n", r.what, r.figure, r.target, r.verdict)
	}
	fmt.Println("load average:", loadAverage())
	return nil
}

// cfg holds the flags.
var cfg struct {
	samples, coldRuns, rssCalls, concurrency int
	load                                     time.Duration
}

type row struct{ what, figure, target, verdict string }

func run(out string, samples int) error {
	ctx := context.Background()
	loadBefore := loadAverage()
	endpoint := benchEndpoint()
	client := ddbclient.Local(endpoint)
	table, secret, sec, drop, err := benchTable(ctx, endpoint)
	if err != nil {
		return err
	}
	defer drop()

	db := &mock.CountingDB{DB: client}
	st := store.New(db, table)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	authz := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: st, Now: time.Now, Log: log}
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites",
		Resource: "/v2/sites", Path: "/v2/sites", HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer " + secret},
	}
	// The floor: the same item, read with the same client and consistency,
	// straight from the SDK.
	getItem := &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: store.SecretKey(sec.Hash),
	}
	bare := func() error {
		out, err := client.GetItem(ctx, getItem)
		if err == nil && out.Item == nil {
			err = errors.New("item not found")
		}
		return err
	}
	decide := func() error {
		resp, err := authz.Handle(ctx, req)
		if err == nil && resp.PolicyDocument.Statement[0].Effect != "Allow" {
			err = errors.New("not allowed")
		}
		return err
	}
	// Warm both paths (connections, JIT of DynamoDB Local, the first usage write).
	for i := 0; i < 300; i++ {
		if err := decide(); err != nil {
			return fmt.Errorf("authorizer: %w", err)
		}
		if err := bare(); err != nil {
			return fmt.Errorf("get item: %w", err)
		}
	}
	db.Reset()
	times, err := interleave(samples, decide, bare)
	if err != nil {
		return err
	}
	tDecide, tBare := times[0], times[1]
	readsPerDecision := float64(db.Reads.Load()) / float64(samples)
	writes := db.Writes.Load()
	p50d, p99d := percentile(tDecide, 50), percentile(tDecide, 99)
	p50b, p99b := percentile(tBare, 50), percentile(tBare, 99)
	ratio := float64(p50d) / float64(p50b)

	// The CPU path without I/O, and malformed tokens.
	cpu := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: log}
	cpuRes := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cpu.Handle(ctx, req)
		}
	})
	bad := req
	bad.Headers = map[string]string{"Authorization": "Bearer " + secret[:len(secret)-1] + "x"}
	db.Reset()
	badRes := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			authz.Handle(ctx, bad)
		}
	})
	badReads := db.Reads.Load()

	leakRows := allowlistRows(ctx, secret, sec)
	advisor, err := advisorRows(ctx, st, db, client, table, sec.SiteID)
	if err != nil {
		return fmt.Errorf("unused-permission advisor: %w", err)
	}
	leakRows = append(leakRows, advisor...)

	gwRow, err := gatewayOverhead(st, secret, sec, samples*4)
	if err != nil {
		return fmt.Errorf("gateway overhead: %w", err)
	}
	dataRows, err := dataPath(ctx, st, endpoint, table, secret, sec, bare, samples)
	if err != nil {
		return fmt.Errorf("data path: %w", err)
	}
	rtRows, err := roundTripRows(ctx, endpoint, table, secret, samples)
	if err != nil {
		return fmt.Errorf("round trips: %w", err)
	}
	floods, err := floodRows(ctx, endpoint, table, 1000)
	if err != nil {
		return fmt.Errorf("unknown tokens: %w", err)
	}
	rtRows = append(rtRows, floods...)
	loadRows, err := e2eLoad(ctx, endpoint, table, secret, bare, cfg.concurrency, cfg.load)
	if err != nil {
		return fmt.Errorf("end-to-end load: %w", err)
	}
	rlRows, limitExtra, err := rateLimitRows(db, st, secret, samples)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	userRows, err := userTokenDecision(log)
	if err != nil {
		return fmt.Errorf("user token decision: %w", err)
	}
	fnRows, err := functionRows(ctx, endpoint, table, secret, sec)
	if err != nil {
		return err
	}
	metricsSection, err := metricsOverhead(ctx, endpoint, table, secret, sec, samples)
	if err != nil {
		return fmt.Errorf("metrics overhead: %w", err)
	}
	upstreamsSection, err := upstreamsSection(ctx, endpoint, table, secret, sec, samples)
	if err != nil {
		return fmt.Errorf("upstream routes: %w", err)
	}
	// Last, as loading 100,000 events slows DynamoDB Local for what follows.
	auditRows, err := auditCost(ctx, st, client, table)
	if err != nil {
		return err
	}

	rows := []row{
		{"Authorizer decision, valid token, without a limiter (its read alone), DynamoDB Local: p50 / p99", fmt.Sprintf("%s / %s", p50d, p99d), "", ""},
		{"Bare GetItem of the same item (strongly consistent), same run: p50 / p99", fmt.Sprintf("%s / %s", p50b, p99b), "", ""},
		{"Median ratio, decision / GetItem", fmt.Sprintf("%.3f", ratio), "<= 1.15", verdict(ratio <= 1.15)},
		{"DynamoDB reads per decision (steady state)", fmt.Sprintf("%.2f", readsPerDecision), "1", verdict(readsPerDecision <= 1)},
		{fmt.Sprintf("Writes by the authorizer during %d decisions of one token", samples), fmt.Sprint(writes), "0 (this authorizer has no limiter: the rows of the count beside the read follow)", verdict(writes == 0)},
		{"Authorizer CPU path, store in memory", fmt.Sprintf("%d ns/op, %d allocs/op, %d B/op", cpuRes.NsPerOp(), cpuRes.AllocsPerOp(), cpuRes.AllocedBytesPerOp()), "< 20 µs", verdict(cpuRes.NsPerOp() < 20000)},
		{"Malformed (bad checksum) token", fmt.Sprintf("%d ns/op, %d allocs/op, %d DynamoDB calls in %d ops", badRes.NsPerOp(), badRes.AllocsPerOp(), badReads, badRes.N), "< 2 µs, 0 calls", verdict(badRes.NsPerOp() < 2000 && badReads == 0)},
	}
	rows = append(rows, leakRows...)
	rows = append(rows, userRows...)
	rows = append(rows, dataRows...)
	rows = append(rows, rtRows...)
	rows = append(rows, gwRow)
	rows = append(rows, loadRows...)
	rows = append(rows, rlRows...)
	rows = append(rows, fnRows...)
	rows = append(rows, auditRows...)
	rows = append(rows, costRows(p50d, limitExtra)...)
	return write(out, samples, rows, metricsSection+upstreamsSection, loadBefore, loadAverage())
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, as
// /proc/loadavg has them: what else ran beside the bench.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// auditEvents is the size of the audit log whose pages are priced.
const auditEvents = 100_000

// auditCost loads a workspace with auditEvents events, a minute apart and of
// every type in turn, and prices pages of it in read capacity, as DynamoDB
// reports it (DynamoDB Local reports what DynamoDB would charge).
func auditCost(ctx context.Context, st *store.Store, db auditimport.BatchWriter, table string) ([]row, error) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ws := tokensmith.Workspace{ID: "0000000a00000000000000a1", Slug: "audit-bench", Plan: tokensmith.PlanEnterprise, CreatedOn: start}
	if err := st.CreateWorkspace(ctx, ws); err != nil {
		return nil, err
	}
	evs := make([]tokensmith.Event, auditEvents)
	for i := range evs {
		typ := audit.Types[i%len(audit.Types)]
		evs[i] = tokensmith.Event{
			ID: fmt.Sprintf("%024x", i), Type: typ, SubType: "bench", Timestamp: start.Add(time.Duration(i) * time.Minute),
			Actor:     tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "0000000a00000000000000b1", Email: "admin@example.com"},
			Workspace: tokensmith.WorkspaceRef{ID: ws.ID, Slug: ws.Slug},
			Payload: map[string]any{
				"token": map[string]any{"id": fmt.Sprintf("%024x", i), "kind": "site", "name": "CMS sync", "displayHint": "tss_…k3Zq"},
				"site":  map[string]any{"id": "0000000a00000000000000c1", "shortName": "heart-of-gold"}, "scope": "cms:read,sites:read",
			},
		}
	}
	loadStart := time.Now()
	if err := auditimport.Import(ctx, st, db, table, ws.ID, evs); err != nil {
		return nil, err
	}
	load := time.Since(loadStart)
	from := start.Add(30_000 * time.Minute)
	to := start.Add(60_000 * time.Minute)
	cases := []struct {
		name string
		q    tokensmith.AuditQuery
	}{
		{"page 1 (limit 100, newest first)", tokensmith.AuditQuery{Limit: 100, Desc: true}},
		{"offset 1,000 (limit 100)", tokensmith.AuditQuery{Limit: 100, Offset: 1000, Desc: true}},
		{"offset 90,000 (limit 100)", tokensmith.AuditQuery{Limit: 100, Offset: 90_000, Desc: true}},
		{"eventType api_token, offset 1,000", tokensmith.AuditQuery{EventType: audit.TypeAPIToken, Limit: 100, Offset: 1000, Desc: true}},
		{"from and to (30,000 events), offset 1,000", tokensmith.AuditQuery{From: &from, To: &to, Limit: 100, Offset: 1000, Desc: true}},
	}
	var rows []row
	for _, c := range cases {
		page, err := st.AuditEvents(ctx, ws.ID, c.q)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{
			what:    fmt.Sprintf("Audit log of %d events: %s", auditEvents, c.name),
			figure:  fmt.Sprintf("%.1f RCU, %d items, total %d", page.ReadCapacity, len(page.Events), page.Total),
			target:  "on the order of 100 items read",
			verdict: verdict(len(page.Events) == 100 && page.ReadCapacity < 60),
		})
	}
	rows = append(rows, row{what: fmt.Sprintf("Loading the %d events (BatchWriteItem)", auditEvents), figure: load.Round(time.Second).String()})
	return rows, nil
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100].Round(time.Microsecond / 10)
}

// benchRateLimit is the bench token's limit a minute.
const benchRateLimit = 1_000_000_000

// tampered is secret with its last character changed, so that its
// checksum no longer holds: garbage the authorizer refuses unread.
func tampered(secret string) string {
	last := "x"
	if strings.HasSuffix(secret, last) {
		last = "y"
	}
	return secret[:len(secret)-1] + last
}

// unknownToken is a well-formed site token that names no token.
func unknownToken() string {
	s, err := token.Generate(token.KindSite, rand.Reader)
	if err != nil {
		panic(err)
	}
	return s
}

func seed(ctx context.Context, st *store.Store) (string, tokensmith.Secret, error) {
	now := time.Now().UTC()
	ws := tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "bench", Plan: tokensmith.PlanEnterprise, CreatedOn: now}
	// The bench's site has its limit lifted, straight in the table, past
	// what any run reaches (the product caps a site at 60,000 a minute), so
	// that every timed request is counted and none is refused: a 429 is
	// never timed as an answer.
	site := tokensmith.Site{ID: "0000000a0000000000000002", WorkspaceID: ws.ID, CreatedOn: now,
		Plan: tokensmith.SitePlanEnterprise, RateLimit: benchRateLimit}
	if err := st.CreateWorkspace(ctx, ws); err != nil {
		return "", tokensmith.Secret{}, err
	}
	if err := st.CreateSite(ctx, site); err != nil {
		return "", tokensmith.Secret{}, err
	}
	secret, err := token.Generate(token.KindSite, rand.Reader)
	if err != nil {
		return "", tokensmith.Secret{}, err
	}
	perms := scope.Permissions{"sites": scope.Read, "cms": scope.ReadWrite}
	t := tokensmith.Token{ID: "0000000b0000000000000001", Kind: token.KindSite, Name: "bench", SiteID: site.ID, WorkspaceID: ws.ID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), DisplayHint: token.DisplayHint(secret),
		SecretHash: token.Hash(secret), CreatedOn: now, ExpiresOn: now.Add(token.Inactivity)}
	ev := tokensmith.Event{ID: "bench", Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: now, Workspace: tokensmith.WorkspaceRef{ID: ws.ID, Slug: ws.Slug}}
	if err := st.CreateToken(ctx, 0, "", site.TokenRateLimit(), t, ev, nil, now); err != nil {
		return "", tokensmith.Secret{}, err
	}
	sec, err := st.Secret(ctx, t.SecretHash)
	return secret, sec, err
}

func write(out string, samples int, rows []row, metricsSection, loadBefore, loadAfter string) error {
	var b bytes.Buffer
	cpu := "unknown"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	java := "unknown"
	if v, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		java = strings.SplitN(string(v), "\n", 2)[0]
	}
	fmt.Fprintf(&b, `# Benchmarks

Written by `+"`make bench`"+` (`+"`go run ./cmd/bench`"+` with DynamoDB Local started as for `+"`make test`"+`);
every figure below comes from one run, on this machine:

- %s, %d cores (GOMAXPROCS %d), %s/%s, %s
- DynamoDB Local (amplify-dynamodb-simulator 2.9.30) on %s
- %d interleaved samples of each measured operation after 300 warm-up rounds of each
- load average (1, 5, 15 minutes) when the run began: %s; when it ended: %s. Other work shares
  the machine, so absolute times drift; ratios to a floor measured in the same rounds drift less

| measure | figure | target | verdict |
|---|---|---|---|
`, cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), java, samples, loadBefore, loadAfter)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.what, r.figure, r.target, r.verdict)
	}
	b.WriteString(`
Notes:

- The decision is the REQUEST authorizer's handler as Lambda runs it, for a valid site token on
  ` + "`GET /v2/sites`" + `: parse and checksum, SHA-256, one strongly consistent GetItem by the hash,
  the expiry check, the policy. The first rows time it without a limiter (its read alone); as
  deployed it also counts the request, beside the read (the round-trip rows below). The function
  that serves the request checks the route's scope and notes the use (lastUsed, useCount, the
  sliding expiry: written at most once a minute per token per running function instance).
- One round trip: the authorizer writes the request's count (the conditional UpdateItem of the
  token's counter) beside the read of the secret, for a secret this instance read valid in the
  last 5 minutes, and passes the decision, with the id of the request it was made for, in its
  context; the function answers from it, and counts again only for a request API Gateway served
  from a decision cached for another. So an authorized request is one read and one counter write
  side by side: one round trip in series, the slower of the two, where it was a read then a write.
  F, the figure the authorized rows are held to, is that write's p50 plus the p50 of a garbage
  token's 401 through the same gateway (HTTP on loopback, the gateway, the authorizer's CPU and
  the client): what an authorized request cannot go below where the read and the write run in
  parallel, as in DynamoDB. DynamoDB Local on this machine does not run them in parallel: the
  pair side by side takes about the sum of the two (its row), so F' (the pair's p50 plus the
  401's) is the floor here, and the authorized rows show both ratios. With the authorizer cache on, the
  request makes no read and one counter write, in the function. A secret read for the first time
  is read, then counted (two in series, once per secret and instance); a well-formed token that
  names no token is only ever read: the flood rows count what a stream of them costs, one read
  each and no write, whether each is new or the same again. Why the counts stay exact across
  instances, cached decisions and taken-back counts: docs/RELIABILITY.md, "One round trip".
- The read is strongly consistent so that a revocation takes effect on the very next decision.
- IP allowlists: the ranges ride on the secret's item, so a decision still makes one read; the
  authorizer keeps each token's list parsed (the list never changes), so a decision checks the
  source address against parsed ranges. Its figure is the median of paired differences of
  interleaved batches, which cancels most of what other work on the machine adds to both.
- Unused-permission advisor: the scopes a token's calls exercised ride on the usage write the
  function makes anyway (at most one a minute per token and instance), one ` + "`SET`" + ` path each in the
  record's ` + "`scopeLastUsed`" + ` map, so the writes do not change; a token granted every site scope
  carries up to 23 times in its record, which its size figure shows against DynamoDB's 1 KB write
  unit.
- Malformed tokens are refused on their shape and checksum alone, before any hashing or I/O.
- Audit log pages: the events a query matches are a range of per-workspace (and per-type)
  sequence numbers kept on the workspace item in the same transactions as the events, so a page
  at any offset is one query of at most ` + "`limit`" + ` items and ` + "`total`" + ` is arithmetic. A ` + "`from`" + ` or
  ` + "`to`" + ` bound costs a binary search of about log2(events) one-item reads (17 for 100,000),
  which the RCU figures include; the workspace read that resolves the counters is not in them
  (1 RCU). Reads of the whole log are strongly consistent; a type's log is read from the index.
- Cold starts are measured from exec to the function's first ` + "`GET /2018-06-01/runtime/invocation/next`" + `
  on a local stub of the Lambda Runtime API, and to its first answer (which includes its first
  DynamoDB call and connection where the event needs one), with binaries built as the Makefile
  builds them but for this machine's architecture; sizes are of the linux/arm64 builds.
- Cold starts under the Lambda Runtime Interface Emulator (` + "`aws-lambda-rie`" + `, what ` + "`sam local invoke`" + `
  runs a function with, pinned in ` + "`internal/rie`" + `): each start is a fresh emulator with the
  same binary, environment and first event, invoked once; Init Duration is the emulator's own
  ` + "`INIT REPORT`" + ` (logged at INFO), from the start of Init, which execs the bootstrap, to the
  runtime's first request for an event: what Lambda reports as Init Duration, on this machine
  and without Lambda's sandbox. The emulator's ` + "`REPORT`" + ` line also has an Init Duration, but
  this emulator times there only the hand-off of Init to its runtime core, which runs
  asynchronously, so it is a fraction of a millisecond whatever the function does (the
  baseline's row shows both); the wait for Init lands in the first invoke's Duration instead.
  Init Duration exceeds the stub's exec to first /next by what the emulator adds to the
  start (its process setup and exec of the bootstrap, its Runtime API).
- Bootstrap sizes before and after the local development code (the local gateway, its policy
  evaluator, the dev issuer) moved to ` + "`internal/localdev`" + ` and each main came to wire only its
  own service (before, every function linked every function's handlers; the HTTP functions
  still import the one ` + "`httpapi`" + ` package, so they link its other services' packages, whose
  unused code the linker drops), measured at that change, as ` + "`make build`" + ` builds them
  (today's sizes are in the table above); packages counted with ` + "`go list -deps`" + ` for linux/arm64, the standard library
  included. The file grows in 64 KiB steps (the segments' alignment), so a change of a few
  kilobytes of code shows as 0 or 65,536 bytes:

  | function | before | after | packages before | packages after |
  |---|---|---|---|---|
  | AuditLogs | 7,995,554 B | 7,995,554 B | 295 | 282 |
  | Authorizer | 8,323,234 B | 8,323,234 B | 295 | 286 |
  | Sites | 7,930,018 B | 7,864,482 B | 295 | 282 |
  | TokenExpiry | 7,995,554 B | 7,995,554 B | 295 | 274 |
  | Tokens | 8,257,698 B | 8,192,162 B | 295 | 282 |
- Cold starts and the SDK: releases of the SDK's DynamoDB client from v1.69.0 (and Secrets
  Manager's from v1.50.0) build a schema of every shape of the service at package initialisation:
  3 ms and 590 KB of allocations for DynamoDB's, 0.4 ms for the streams schemas that
  ` + "`attributevalue`" + ` pulls in, 1.2 ms for Secrets Manager's (` + "`GODEBUG=inittrace=1`" + `, on this
  machine under load), which every cold start paid; the releases before serialise the same calls
  with generated code that builds nothing at initialisation. go.mod keeps the releases
  before (dynamodb v1.68.0, dynamodbstreams v1.41.0, attributevalue v1.21.4, expression v1.9.4,
  secretsmanager v1.49.0), and ` + "`TestFunctionsLinkNoSDKSchemas`" + ` fails if a function links a
  schemas package again. Package initialisation fell from about 8 ms to about 6 ms per function
  (the baseline's: 3.5 ms), allocations from 790 KB to 160 KB. What stays: each service's endpoint
  rules (about 0.9 ms for DynamoDB's, which compiles its partitions' regular expressions), and,
  for tokens and people, Cognito's client (about 1 ms), linked through people's invitations. The
  functions avoid the SDK's config package (its credential chain, about 1 ms and four more
  service clients); ` + "`internal/ddbclient`" + ` builds the client from the region and credentials
  Lambda puts in the environment. In AWS the sandbox's own start (tens to hundreds of ms)
  dwarfs these milliseconds.
- The tokens function reads its idempotency secret once, when it starts: "Cold start, tokens"
  reads it as in AWS, through the SDK's Secrets Manager client (SigV4 signing, one HTTP request)
  from a loopback stub, and "tokens, secret from the environment" takes it from
  ` + "`IDEMPOTENCY_SECRET`" + ` as a local run does; the difference between the two is the client's work and a
  loopback round trip. Linking the Secrets Manager client added about 0.95 ms of package
  initialisation here (its schemas about 0.6 ms, its endpoint rules about 0.35 ms,
  ` + "`GODEBUG=inittrace=1`" + `), 262,144 bytes to the linux/arm64 bootstrap (8,257,698 to 8,519,842) and
  5 packages (286 to 291). In AWS the read adds, once per execution environment during Init,
  a new TLS connection to the regional Secrets Manager endpoint and one GetSecretValue request,
  whose latency AWS does not publish; GetSecretValue allows 10,000 requests a second per account
  and region (Secrets Manager quotas,
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html), far above
  one a cold start, and is billed at $0.05 per 10,000 calls plus $0.40 a secret a month
  (https://aws.amazon.com/secrets-manager/pricing/). AWS recommends its Parameters and Secrets
  Lambda extension for functions that read a secret on every invocation
  (https://docs.aws.amazon.com/lambda/latest/dg/with-secrets-manager.html); a read once per
  cold start does not need its cache.
- Data path, one request at a time: the whole local stack as ` + "`make run`" + ` serves it (HTTP on
  loopback, the local gateway, the authorizer, the function), authorizer cache off, timed in
  rounds with the bare GetItem and with each other, each round starting with the next of them.
  Introspection answers from the authorizer's decision (its context carries what introspection
  shows), so the request makes the authorizer's one read. The sites function keeps site records
  for at most 30 s per instance (an LRU of 1,024): warm, GET /v2/sites makes the authorizer's one
  read; cold (the cache emptied before each request) it reads the site too.
- The local gateway's own overhead is timed without I/O (the authorizer's store in memory,
  introspection, which reads nothing): ` + "`ServeHTTP`" + ` on a recorded response against the authorizer and
  the function called directly with the events the gateway would build.
- The end-to-end load drives GET /v2/sites from many clients at once on this 2-core machine, so
  its latencies are mostly queueing; with the site cache warm each request makes one read, the
  authorizer's, against the floor's one.
- Cost model: AWS us-east-1 list prices assumed (REST API $3.50 a million requests; Lambda arm64
  $0.0000133334 a GB-second, billed by the ms, and $0.20 a million requests; DynamoDB on-demand
  $0.125 a million read request units). Durations are DynamoDB Local's; in AWS a GetItem in the
  same region takes a few milliseconds, which adds about $0.01 a million per millisecond per
  function. API Gateway's authorizer cache costs nothing extra (it is not the stage cache).
- Scale limit, reads: every decision for one token reads the same item, so one hot token is
  bounded by a DynamoDB partition: 3,000 strongly consistent reads a second (the item is under
  4 KB, 1 RCU a read) before throttling, and a throttled read fails closed (a 500, never an
  allow). With the authorizer cache at 30 s, API Gateway asks the authorizer once per token,
  method and resource path per 30 s, so a hot token's reads drop to a handful a minute.
- Rate limits: each request of a valid API token is counted with one conditional UpdateItem of
  the token's counter for the current one-minute window (` + "`RATE#<token>`" + ` / ` + "`WINDOW#<start>`" + `:
  ` + "`ADD count 1`" + ` if ` + "`count < limit`" + `, TTL an hour past the window), which returns the new count
  for ` + "`X-RateLimit-Remaining`" + `; a failed condition is the 429 and writes nothing. The authorizer
  makes it (beside its read, see "One round trip") and passes the decision; the function makes it
  when API Gateway served a cached decision. The limit comes from the token's secret, which a
  site's plan change rewrites (so no extra read); a count made at a limit remembered from an
  earlier read is corrected to the read's. The authorizer allows every valid token and the
  function refuses missing scopes (403) after the count, as a Deny would answer with no function
  to set the headers. Usage writes are the function's, so that a refused request is no use; they
  stay at most one a minute per token per running instance.
- Refused requests: a failed conditional write still costs its WCU, so each function instance
  remembers the tokens it saw refused until their window ends (a count only grows within a
  window, so that is exact across instances) and refuses their further requests from memory: a
  client that keeps calling after its 429 costs one write per instance and window, not one per
  request.
- Scale limit, writes: every counted request of one token is one write to one item
  (under 1 KB: 1 WCU), and one item lives in one partition, which takes 1,000 WCU a second. So
  one token is good for about 1,000 requests a second (60,000 a minute), the cap on an enterprise
  site's limit; past it DynamoDB throttles the counter and requests fail closed (500) until the
  SDK's retries find room. Past that, shard the counter: N items per window
  (` + "`WINDOW#<start>#<shard>`" + `), each request adding to a random shard with limit/N as its
  condition (N = ceil(rate / 800) to leave headroom), which admits up to the limit while the
  shards fill evenly and refuses a little early when they do not; or lease: each function
  instance takes blocks of k requests with one ` + "`ADD k`" + ` and spends them locally, dividing writes by
  k at the cost of up to k-1 requests an instance may leave unused in a window. The SDK retries a
  write whose answer was lost, which may count a request twice: an error towards refusing early,
  never towards letting more through. DynamoDB Local serialises writes to one item, so the
  end-to-end load above measures its limits, not DynamoDB's.
`)
	b.WriteString(metricsSection)
	// The console's section is written by `make bench-console` (the browser
	// tests); this run keeps it as it was.
	if old, err := os.ReadFile(out); err == nil {
		b.WriteString(consoleSection(string(old)))
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}

// consoleHeading starts the console's section of the report.
const consoleHeading = "\n## Console\n"

// consoleSection returns the console's section of a report, or "".
func consoleSection(report string) string { return section(report, consoleHeading) }

// section returns the section of a report that starts with heading, up to
// the next section or the end, or "".
func section(report, heading string) string {
	i := strings.Index(report, heading)
	if i < 0 {
		return ""
	}
	rest := report[i+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j+1]
	}
	return heading + rest
}
