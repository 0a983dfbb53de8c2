package conformance

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// repoRoot is the repository checkout: go test runs in the package directory, test/conformance.
func repoRoot() string {
	if root := os.Getenv("TOKENGATE_ROOT"); root != "" {
		return root
	}
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}

// outputLine is one line a tokengate process wrote, with the stream it came from.
type outputLine struct {
	stream string // "stdout" or "stderr"
	text   string
}

// process is a running `node bin/tokengate.js …` whose output lines are kept for assertions.
type process struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []outputLine
	done  chan struct{}
	wg    sync.WaitGroup
}

// startTokengate starts the CLI as a long-running process (serve) with extra environment variables.
func startTokengate(env []string, args ...string) (*process, error) {
	cmd := exec.Command("node", append([]string{"bin/tokengate.js"}, args...)...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	p.wg.Add(2)
	go p.read("stdout", stdout)
	go p.read("stderr", stderr)
	go func() {
		p.wg.Wait()
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) read(stream string, r io.Reader) {
	defer p.wg.Done()
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1024*1024), 1024*1024)
	for scanner.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, outputLine{stream: stream, text: scanner.Text()})
		p.mu.Unlock()
	}
}

// waitFor waits until a line matches, and returns its submatches.
func (p *process) waitFor(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	for seen := 0; ; {
		p.mu.Lock()
		for ; seen < len(p.lines); seen++ {
			if m := re.FindStringSubmatch(p.lines[seen].text); m != nil {
				p.mu.Unlock()
				return m, nil
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			return nil, fmt.Errorf("process exited before printing %q:\n%s", re, p.text())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no line matching %q within %s:\n%s", re, timeout, p.text())
		}
	}
}

// mark is the number of lines so far: give it to since to see only what came after.
func (p *process) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

func (p *process) since(mark int) []outputLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]outputLine(nil), p.lines[mark:]...)
}

func (p *process) text() string {
	var b strings.Builder
	for _, l := range p.since(0) {
		fmt.Fprintf(&b, "[%s] %s\n", l.stream, l.text)
	}
	return b.String()
}

// stop asks the process to stop (SIGTERM, as Ctrl-C would) and kills it if it has not within 10 s.
func (p *process) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// runTokengate runs one CLI command to completion (bounded to 90 s) and returns its stdout.
func runTokengate(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"bin/tokengate.js"}, args...)...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("tokengate %s: %v\n%s", args[0], err, stderr.String())
	}
	return string(out), nil
}

// accessLine is one line of `tokengate serve --access-log`: `POST /v1/clusters/c-1/authenticate?timeout=30s 200 3ms`.
var accessLine = regexp.MustCompile(`^([A-Z]+) (\S+) (\d{3}) \d+ms$`)

// accessRecords are the access-log lines among lines, as [method, url, status].
func accessRecords(lines []outputLine) [][3]string {
	var records [][3]string
	for _, l := range lines {
		if l.stream != "stderr" {
			continue
		}
		if m := accessLine.FindStringSubmatch(l.text); m != nil {
			records = append(records, [3]string{m[1], m[2], m[3]})
		}
	}
	return records
}

// logLines are the lines of tokengate's own structured log (JSON objects, on either stream).
func logLines(lines []outputLine) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l.text, "{") {
			out = append(out, l.text)
		}
	}
	return out
}
