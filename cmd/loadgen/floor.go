package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"time"
)

// writeFloor is what the kernel alone charges for one websocket-sized write to a
// loopback TCP socket whose reader is another process: the least CPU per
// viewer per update any server can reach on this machine, since each viewer
// is its own socket. On loopback the receiver's TCP processing runs in the
// sender's system call, so it is included.
type writeFloor struct {
	Conns       int     `json:"conns"`
	Size        int     `json:"size"`
	Writes      int     `json:"writes"`
	CPUPerWrite float64 `json:"cpu_us_per_write"`
}

// floor writes size bytes to each of n loopback connections, rounds times,
// from one goroutine, and divides its own CPU time by the writes.
func floor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	n := fs.Int("n", 5000, "connections")
	size := fs.Int("size", 460, "bytes per write (a compressed stat fragment with its frame header)")
	rounds := fs.Int("rounds", 20, "writes per connection")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "floor-reader", ln.Addr().String(), fmt.Sprint(*n))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(time.Minute))
	for len(conns) < *n {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("floor: accept: %w", err)
		}
		conns = append(conns, c)
	}
	msg := make([]byte, *size)
	time.Sleep(time.Second)
	c0 := selfCPU()
	for range *rounds {
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				return fmt.Errorf("floor: write: %w", err)
			}
		}
		time.Sleep(100 * time.Millisecond) // let the reader drain, as between updates
	}
	f := writeFloor{Conns: *n, Size: *size, Writes: *rounds * *n}
	f.CPUPerWrite = float64(selfCPU()-c0) / 1e3 / float64(f.Writes)
	return json.NewEncoder(os.Stdout).Encode(f)
}

// floorReader is the other process: it connects and discards.
func floorReader(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("floor-reader ADDR N")
	}
	var n int
	fmt.Sscan(args[1], &n)
	for range n {
		c, err := net.Dial("tcp", args[0])
		if err != nil {
			return err
		}
		go io.Copy(io.Discard, c)
	}
	// The parent kills this process when done; never outlive it for long.
	time.Sleep(5 * time.Minute)
	return nil
}
