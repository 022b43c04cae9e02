// Package rie runs a function's bootstrap the way Lambda runs it, under the
// AWS Lambda Runtime Interface Emulator (the aws-lambda-rie that `sam local
// invoke` runs in its container): the emulator starts the bootstrap as the
// runtime at the first invocation, serves it the Runtime API, and takes
// invocations over HTTP. `make invoke`, the emulator tests and `make bench`
// use it; it is linked into no Lambda.
//
// The emulator is built from the Go module proxy at a pinned version, once,
// into the tool cache beside DynamoDB Local and Chromium (internal/toolcache),
// with the emulator's own go.mod: its dependencies stay out of this module's
// go.mod and go.sum, and out of the versions the functions build with.
package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/toolcache"
)

// The emulator's module and the version built: a pseudo-version of its main
// branch that the module proxy serves.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
	command = Module + "/cmd/aws-lambda-rie"
)

// Path returns the emulator's binary, building it into the cache with `go
// install` on first use. The build lands under a temporary name and is
// renamed into place, so that concurrent first uses do not clash.
func Path() (string, error) {
	cache, err := toolcache.Dir()
	if err != nil {
		return "", fmt.Errorf("rie: %w", err)
	}
	dir := filepath.Join(cache, "aws-lambda-rie-"+Version)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("rie: create cache folder: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("rie: create cache folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "rie: building %s@%s into %s\n", command, Version, dir)
	install := exec.Command("go", "install", command+"@"+Version)
	install.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("rie: go install %s@%s: %v: %s", command, Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "aws-lambda-rie"), bin); err != nil {
		return "", fmt.Errorf("rie: install: %w", err)
	}
	return bin, nil
}

// Build builds the bootstrap of the function logicalID into dir as `make
// build` builds it (its build-<LogicalId> target in root's Makefile), for
// this machine's operating system and architecture, and returns its path.
func Build(root, logicalID, dir string) (string, error) {
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "build-"+logicalID, "ARTIFACTS_DIR="+dir, "LAMBDA_GOARCH=host")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("rie: make build-%s: %v: %s", logicalID, err, out)
	}
	return filepath.Join(dir, "bootstrap"), nil
}

// dockerHost is the name events/env.json gives the host, as `sam local`'s
// containers reach it; on the host itself it is loopback.
const dockerHost = "host.docker.internal"

// Env returns the environment that `sam local invoke` gives the function
// logicalID, for a run on this host: its variables in root's
// events/env.json, with host.docker.internal mapped to 127.0.0.1, and what
// Lambda itself sets: the function's name, memory, timeout and log format
// from template.yaml, a region and placeholder credentials.
func Env(root, logicalID string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", "env.json"))
	if err != nil {
		return nil, err
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("events/env.json: %w", err)
	}
	vars, ok := all[logicalID]
	if !ok {
		return nil, fmt.Errorf("events/env.json has no %s", logicalID)
	}
	fn, err := settings(logicalID)
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        logicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(fn.Timeout),
		"AWS_LAMBDA_LOG_FORMAT":           fn.LoggingConfig.LogFormat,
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_ACCESS_KEY_ID":               "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_SESSION_TOKEN":               "local",
	}
	for k, v := range vars {
		env[k] = strings.ReplaceAll(v, "://"+dockerHost+":", "://127.0.0.1:")
	}
	return env, nil
}

// function is what Lambda takes from a function's properties in the
// template, beside its variables.
type function struct {
	MemorySize    int `yaml:"MemorySize"`
	Timeout       int `yaml:"Timeout"`
	LoggingConfig struct {
		LogFormat string `yaml:"LogFormat"`
	} `yaml:"LoggingConfig"`
}

// settings returns the properties of the function logicalID in
// template.yaml, over the template's globals.
func settings(logicalID string) (function, error) {
	var t struct {
		Globals struct {
			Function function `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(tokensmith.Template, &t); err != nil {
		return function{}, fmt.Errorf("rie: template.yaml: %w", err)
	}
	r, ok := t.Resources[logicalID]
	if !ok {
		return function{}, fmt.Errorf("rie: template.yaml has no %s", logicalID)
	}
	fn := t.Globals.Function
	if err := r.Properties.Decode(&fn); err != nil {
		return function{}, fmt.Errorf("rie: template.yaml: %s: %w", logicalID, err)
	}
	return fn, nil
}

// Config is what Start runs.
type Config struct {
	// Bootstrap is the function's executable.
	Bootstrap string
	// Env is the function's whole environment: the emulator passes its
	// own on to the bootstrap.
	Env map[string]string
	// Log receives the emulator's output and the function's (START, END
	// and REPORT lines, the function's logs, the emulator's own).
	Log io.Writer
	// Quiet shows only the emulator's errors of its own, as `sam local`
	// runs it (--log-level error); otherwise its INFO lines show too,
	// among them the INIT REPORT that InitDuration reads.
	Quiet bool
}

// Emulator is one function's bootstrap under the emulator.
type Emulator struct {
	url string
	cmd *exec.Cmd
	log *lockedBuffer
	// invokes counts the invocations answered.
	invokes int
}

// Start starts the emulator with the bootstrap of c on free loopback ports.
// The emulator starts the bootstrap at the first Invoke.
func Start(c Config) (*Emulator, error) {
	bin, err := Path()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	bootstrap, err := filepath.Abs(c.Bootstrap)
	if err != nil {
		return nil, err
	}
	addr, runtimeAPI := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	level := "info"
	if c.Quiet {
		level = "error"
	}
	cmd := exec.Command(bin, "--log-level", level, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAPI, bootstrap)
	// Lambda runs the bootstrap in its own folder (/var/task).
	cmd.Dir = filepath.Dir(bootstrap)
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	e := &Emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, log: &lockedBuffer{tee: c.Log}}
	cmd.Stdout, cmd.Stderr = e.log, e.log
	// The bootstrap is the emulator's child: Close stops both, as a group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rie: start: %w", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.Close()
			return nil, fmt.Errorf("rie: emulator did not listen on %s: %s", addr, e.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Invoke invokes the function with event and returns its answer: the
// handler's result, or for a function error Lambda's error document
// ({"errorMessage": ..., "errorType": ...}). A bootstrap that fails to
// start or stops is an error.
func (e *Emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("rie: invoke: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("rie: invoke: %s: %s", resp.Status, body)
	}
	// The emulator prints the REPORT line before it answers; wait for it to
	// come through its output as well.
	e.invokes++
	for deadline := time.Now().Add(time.Second); strings.Count(e.Log(), "\nREPORT RequestId:") < e.invokes && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return body, nil
}

// Log returns what the emulator and the function have written so far.
func (e *Emulator) Log() string { return e.log.String() }

// Close stops the emulator and the bootstrap.
func (e *Emulator) Close() error {
	// What the two say as they go is not the function's.
	e.log.mu.Lock()
	e.log.tee = nil
	e.log.mu.Unlock()
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	err := e.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil
	}
	return err
}

var (
	// initReport is the emulator's log line of the init phase (rapid's INIT
	// REPORT): from the start of Init, which execs the bootstrap, to the
	// runtime's first request for an event. It is what Lambda reports as
	// Init Duration.
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	// reportInit is the Init Duration of the emulator's REPORT line, which
	// this emulator measures around handing Init to its runtime core and
	// not until the runtime is ready (Init runs asynchronously), so it is
	// always a fraction of a millisecond.
	reportInit = regexp.MustCompile(`REPORT RequestId: \S+\tInit Duration: ([0-9.]+) ms`)
)

// InitDuration returns the init phase of the bootstrap (the INIT REPORT the
// emulator logs at INFO) and the Init Duration of the first REPORT line,
// waiting up to a second for them to reach the log after an Invoke.
func (e *Emulator) InitDuration() (initPhase, report time.Duration, err error) {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		log := e.Log()
		a, b := initReport.FindStringSubmatch(log), reportInit.FindStringSubmatch(log)
		if a != nil && b != nil {
			return ms(a[1]), ms(b[1]), nil
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("rie: no INIT REPORT and REPORT Init Duration in the log:\n%s", log)
		}
	}
}

func ms(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}

// freePorts returns n ports free on loopback, held together while chosen
// so that they differ.
func freePorts(n int) ([]string, error) {
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		ports = append(ports, port)
	}
	return ports, nil
}

// lockedBuffer keeps what is written to it, and copies it to tee.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tee io.Writer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tee != nil {
		b.tee.Write(p)
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
