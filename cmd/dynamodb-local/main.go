// Command dynamodb-local runs a command with DynamoDB Local answering on
// 127.0.0.1, starting it first when nothing answers there and stopping only
// what it started.
//
//	go run ./cmd/dynamodb-local [-port 8000] -- go test ./...
//
// DynamoDB Local comes from the npm package amplify-dynamodb-simulator, which
// ships DynamoDBLocal.jar with its native libraries; it is cached under
// $XDG_CACHE_HOME/tokensmith (or ~/.cache/tokensmith) and run with Java 17+.
// Without Java it falls back to Docker's amazon/dynamodb-local image.
package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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
		dir, err := emulatorDir()
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

// emulatorDir returns the folder holding DynamoDBLocal.jar, unpacking the npm
// package into the cache on first use.
func emulatorDir() (string, error) {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find cache folder: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "tokensmith", "dynamodb-local-"+simulatorVersion)
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar")); err == nil {
		return dir, nil
	}
	fmt.Fprintf(os.Stderr, "dynamodb-local: fetching amplify-dynamodb-simulator@%s with npm into %s\n", simulatorVersion, dir)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "fetch-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", fmt.Errorf("create cache folder: %w", err)
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), "fetch-"); err != nil {
			return "", fmt.Errorf("create cache folder: %w", err)
		}
	}
	defer os.RemoveAll(tmp)
	pack := exec.Command("npm", "pack", "--silent", "amplify-dynamodb-simulator@"+simulatorVersion, "--pack-destination", tmp)
	pack.Stderr = os.Stderr
	out, err := pack.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack amplify-dynamodb-simulator: %w", err)
	}
	tgz := filepath.Join(tmp, strings.TrimSpace(lastLine(string(out))))
	unpacked := filepath.Join(tmp, "emulator")
	if err := extract(tgz, "package/emulator/", unpacked); err != nil {
		return "", err
	}
	if err := os.Rename(unpacked, dir); err != nil && !exists(filepath.Join(dir, "DynamoDBLocal.jar")) {
		return "", fmt.Errorf("install DynamoDB Local: %w", err)
	}
	return dir, nil
}

// extract writes the files of the tar.gz at path under prefix into dst.
func extract(path, prefix, dst string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(h.Name, prefix) || strings.Contains(h.Name, "..") {
			continue
		}
		target := filepath.Join(dst, strings.TrimPrefix(h.Name, prefix))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
