// Command dynamodb-local runs a command with DynamoDB Local answering on
// 127.0.0.1, starting it first when nothing answers there and stopping only
// what it started.
//
//	go run ./cmd/dynamodb-local [-port 8000] -- go test ./...
//
// DynamoDB Local comes from the npm package amplify-dynamodb-simulator, which
// ships DynamoDBLocal.jar with its native libraries; it is fetched once into
// the tool cache (internal/toolcache) and run with Java 17+.
// Without Java it falls back to Docker's amazon/dynamodb-local image.
package main

import (
	"archive/tar"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tokensmith/tokensmith/internal/toolcache"
)

// simulatorVersion pins the npm package that ships DynamoDBLocal.jar.
const simulatorVersion = "2.9.30"

func main() {
	port := flag.Int("port", 8000, "port DynamoDB Local answers on")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: dynamodb-local [-port N] -- command [args...]")
		os.Exit(2)
	}
	code, err := run(*port, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamodb-local:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(port int, args []string) (int, error) {
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Signals reach this process and the command alike (same process
	// group); this one waits for the command and then cleans up.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)

	var stop func()
	if !answers(endpoint) && !portFree(port) {
		// Something holds the port: perhaps a DynamoDB Local still starting.
		for deadline := time.Now().Add(20 * time.Second); !answers(endpoint) && time.Now().Before(deadline); {
			time.Sleep(250 * time.Millisecond)
		}
	}
	if answers(endpoint) {
		fmt.Fprintf(os.Stderr, "dynamodb-local: using the DynamoDB Local already answering at %s\n", endpoint)
	} else {
		var err error
		stop, err = start(port)
		if err != nil {
			return 1, err
		}
		deadline := time.Now().Add(60 * time.Second)
		for !answers(endpoint) {
			if time.Now().After(deadline) {
				stop()
				return 1, fmt.Errorf("DynamoDB Local did not answer at %s within 60s", endpoint)
			}
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "dynamodb-local: started DynamoDB Local at %s\n", endpoint)
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "DYNAMODB_ENDPOINT="+endpoint)
	err := cmd.Run()
	if stop != nil {
		stop()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// answers reports whether a DynamoDB endpoint answers HTTP at url.
func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// start launches DynamoDB Local in its own process group, so that a Ctrl-C
// meant for the command does not stop it first, and returns how to stop it.
func start(port int) (func(), error) {
	if _, err := exec.LookPath("java"); err == nil {
		dir, err := emulator.Fetch(os.Stderr)
		if err != nil {
			return nil, err
		}
		if free := portFree(port); !free {
			return nil, fmt.Errorf("port %d is taken by something that is not DynamoDB Local", port)
		}
		cmd := exec.Command("java", "-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
			"-jar", filepath.Join(dir, "DynamoDBLocal.jar"), "-inMemory", "-port", fmt.Sprint(port))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		// DynamoDB Local writes a metadata file into its working folder.
		cmd.Dir = os.TempDir()
		logf, err := os.CreateTemp("", "dynamodb-local-*.log")
		if err == nil {
			cmd.Stdout, cmd.Stderr = logf, logf
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start java: %w", err)
		}
		return func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			if logf != nil {
				logf.Close()
				os.Remove(logf.Name())
			}
		}, nil
	}
	if _, err := exec.LookPath("docker"); err == nil {
		out, err := exec.Command("docker", "run", "-d", "--rm", "-p", fmt.Sprintf("127.0.0.1:%d:8000", port),
			"amazon/dynamodb-local", "-jar", "DynamoDBLocal.jar", "-inMemory").Output()
		if err == nil {
			id := strings.TrimSpace(string(out))
			return func() { exec.Command("docker", "stop", id).Run() }, nil
		}
	}
	return nil, errors.New("DynamoDB Local needs Java 17+ (or a running Docker engine)")
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// emulator is the npm package that ships DynamoDBLocal.jar with its native
// libraries, under emulator/.
var emulator = toolcache.Package{
	What:   "DynamoDB Local",
	Spec:   "amplify-dynamodb-simulator@" + simulatorVersion,
	Folder: "dynamodb-local-" + simulatorVersion,
	Unpack: func(pkg *tar.Reader, dst string) error { return toolcache.Extract(pkg, "package/emulator/", dst) },
}
