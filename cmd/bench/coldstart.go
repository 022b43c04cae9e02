package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/internal/rie"
)

// lambdaBuild is how the Makefile builds a function, for GOARCH.
func lambdaBuild(dir, out, goarch string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, dir)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v: %s", dir, err, b)
	}
	return nil
}

// linkedPackages counts the packages the Lambda build of dir links, the
// standard library's included.
func linkedPackages(dir string) (int, error) {
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", dir)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("go list -deps %s: %w", dir, err)
	}
	return len(strings.Fields(string(out))), nil
}

// runtimeStub is a local Lambda Runtime API: it hands out events and notes
// when the function first asks for one and when it answers.
type runtimeStub struct {
	srv      *http.Server
	addr     string
	events   chan []byte
	mu       sync.Mutex
	firstAsk time.Time
	answers  chan answer
}

type answer struct {
	at    time.Time
	body  []byte
	error bool
}

func newRuntimeStub() (*runtimeStub, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &runtimeStub{addr: l.Addr().String(), events: make(chan []byte, 1), answers: make(chan answer, 1)}
	mux := http.NewServeMux()
	n := 0
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.firstAsk.IsZero() {
			s.firstAsk = time.Now()
		}
		n++
		id := strconv.Itoa(n)
		s.mu.Unlock()
		select {
		case ev := <-s.events:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(10*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			w.Write(ev)
		case <-r.Context().Done():
		}
	})
	respond := func(isErr bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			s.answers <- answer{at: time.Now(), body: b, error: isErr}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", respond(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", respond(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", respond(true))
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(l)
	return s, nil
}

func (s *runtimeStub) close() { s.srv.Close() }

// function is one binary to start and the event it is first given.
type function struct {
	name string
	// src is the package under functions/ when it is not name (a variant
	// of a function, started with another environment).
	src   string
	bin   string
	env   []string
	event []byte
	// status is the HTTP status a proxy function's first answer must
	// carry (0: not a proxy function), so that no cold start is timed to
	// an answer it was not meant to give.
	status int
	// holds is what a first answer that is not a proxy's must hold.
	holds string
}

// checkAnswer fails when f's answer is not the one its event asks for.
func checkAnswer(f function, body []byte) error {
	if !bytes.Contains(body, []byte(f.holds)) {
		return fmt.Errorf("%s answered %.300s; want it to hold %s", f.name, body, f.holds)
	}
	if f.status == 0 {
		return nil
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != f.status {
		return fmt.Errorf("%s answered %.300s; want status %d", f.name, body, f.status)
	}
	return nil
}

// coldStart starts f under a fresh runtime stub and returns the time from
// exec to its first request for an event, and to its first answer.
func coldStart(f function) (toNext, toAnswer time.Duration, err error) {
	stub, err := newRuntimeStub()
	if err != nil {
		return 0, 0, err
	}
	defer stub.close()
	stub.events <- f.event
	cmd := exec.Command(f.bin)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + stub.addr, "PATH=" + os.Getenv("PATH")}, f.env...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case a := <-stub.answers:
		if a.error {
			return 0, 0, fmt.Errorf("%s failed: %s", f.name, a.body)
		}
		if err := checkAnswer(f, a.body); err != nil {
			return 0, 0, err
		}
		stub.mu.Lock()
		defer stub.mu.Unlock()
		return stub.firstAsk.Sub(start), a.at.Sub(start), nil
	case <-time.After(15 * time.Second):
		return 0, 0, fmt.Errorf("%s did not answer", f.name)
	}
}

// emulatedColdStart starts f under a fresh Lambda Runtime Interface
// Emulator, invokes it once, and returns the init phase the emulator
// reports (what Lambda reports as Init Duration) and the Init Duration of
// its REPORT line.
func emulatedColdStart(f function) (initPhase, report time.Duration, err error) {
	env := map[string]string{"PATH": os.Getenv("PATH")}
	for _, kv := range f.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	em, err := rie.Start(rie.Config{Bootstrap: f.bin, Env: env})
	if err != nil {
		return 0, 0, err
	}
	defer em.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := em.Invoke(ctx, f.event)
	if err != nil {
		return 0, 0, fmt.Errorf("%s under the emulator: %w\n%s", f.name, err, em.Log())
	}
	if bytes.Contains(out, []byte(`"errorMessage"`)) {
		return 0, 0, fmt.Errorf("%s under the emulator failed: %s", f.name, out)
	}
	if err := checkAnswer(f, out); err != nil {
		return 0, 0, err
	}
	return em.InitDuration()
}

// peakRSS drives f through n invocations of its event and returns its peak
// resident set size (VmHWM), in bytes.
func peakRSS(f function, n int) (int64, error) {
	stub, err := newRuntimeStub()
	if err != nil {
		return 0, err
	}
	defer stub.close()
	cmd := exec.Command(f.bin)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + stub.addr, "PATH=" + os.Getenv("PATH")}, f.env...)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < n; i++ {
		stub.events <- f.event
		select {
		case a := <-stub.answers:
			if a.error {
				return 0, fmt.Errorf("%s failed: %s", f.name, a.body)
			}
		case <-time.After(15 * time.Second):
			return 0, fmt.Errorf("%s did not answer", f.name)
		}
	}
	return vmHWM(strconv.Itoa(cmd.Process.Pid))
}

// vmHWM is the peak resident set size of process pid ("self" for this
// one), in bytes.
func vmHWM(pid string) (int64, error) {
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for process %s", pid)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// coldStarts builds every function and the baseline for this machine, starts
// each runs times under the runtime stub and under the Lambda Runtime
// Interface Emulator (in turn, so that drift hits all alike), and reports
// medians against the baseline's; it also builds every function for linux/arm64 and
// reports the sizes.
func coldStarts(ctx context.Context, dir string, fns []function, runs int) ([]row, map[string]function, error) {
	byName := map[string]function{}
	for i := range fns {
		fns[i].bin = filepath.Join(dir, "host", fns[i].name)
		src := "./functions/" + fns[i].name
		if fns[i].src != "" {
			src = "./functions/" + fns[i].src
		}
		if fns[i].name == "baseline" {
			src = "./cmd/bench/baseline"
		}
		if err := lambdaBuild(src, fns[i].bin, runtime.GOARCH); err != nil {
			return nil, nil, err
		}
		byName[fns[i].name] = fns[i]
	}
	next := map[string][]time.Duration{}
	answered := map[string][]time.Duration{}
	initPhase := map[string][]time.Duration{}
	reported := map[string][]time.Duration{}
	for r := 0; r < runs; r++ {
		for _, f := range fns {
			a, b, err := coldStart(f)
			if err != nil {
				return nil, nil, err
			}
			next[f.name] = append(next[f.name], a)
			answered[f.name] = append(answered[f.name], b)
			i, rep, err := emulatedColdStart(f)
			if err != nil {
				return nil, nil, err
			}
			initPhase[f.name] = append(initPhase[f.name], i)
			reported[f.name] = append(reported[f.name], rep)
		}
	}
	round := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	base, baseInit := median(next["baseline"]), median(initPhase["baseline"])
	var rows []row
	for _, f := range fns {
		n, a, i := median(next[f.name]), median(answered[f.name]), median(initPhase[f.name])
		if f.name == "baseline" {
			rows = append(rows,
				row{what: "Cold start, baseline (hello-world aws-lambda-go): exec to first /next; to first answer",
					figure: fmt.Sprintf("%s; %s", round(n), round(a))},
				row{what: "Cold start under the Lambda Runtime Interface Emulator, baseline: Init Duration (the emulator's INIT REPORT); its REPORT line's Init Duration",
					figure: fmt.Sprintf("%s; %s", round(i), round(median(reported[f.name])))})
			continue
		}
		ratio, initRatio := float64(n)/float64(base), float64(i)/float64(baseInit)
		rows = append(rows, row{
			what:    fmt.Sprintf("Cold start, %s: exec to first /next (ratio to baseline); to first answer", f.name),
			figure:  fmt.Sprintf("%s (%.2f); %s", round(n), ratio, round(a)),
			target:  "ratio <= 1.3",
			verdict: verdict(ratio <= 1.3),
		}, row{
			what:    fmt.Sprintf("Cold start under the emulator, %s: Init Duration (ratio to baseline's); the stub's exec to first /next", f.name),
			figure:  fmt.Sprintf("%s (%.2f); %s", round(i), initRatio, round(n)),
			target:  "ratio <= 1.3",
			verdict: verdict(initRatio <= 1.3),
		})
	}
	for _, f := range fns {
		if f.name == "baseline" || f.src != "" {
			continue
		}
		out := filepath.Join(dir, "arm64", f.name)
		if err := lambdaBuild("./functions/"+f.name, out, "arm64"); err != nil {
			return nil, nil, err
		}
		st, err := os.Stat(out)
		if err != nil {
			return nil, nil, err
		}
		pkgs, err := linkedPackages("./functions/" + f.name)
		if err != nil {
			return nil, nil, err
		}
		mib := float64(st.Size()) / (1 << 20)
		rows = append(rows, row{what: fmt.Sprintf("linux/arm64 bootstrap size, %s: size; packages linked", f.name),
			figure: fmt.Sprintf("%.2f MiB (%d B); %d", mib, st.Size(), pkgs), target: "<= 12 MiB", verdict: verdict(mib <= 12)})
	}
	return rows, byName, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
