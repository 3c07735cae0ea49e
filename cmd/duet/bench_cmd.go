package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet/server/turn/turnload"
)

func benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a duet component under a bounded load (loopback or a server you run)",
	}
	cmd.AddCommand(benchTURNCommand(), benchCallsCommand())
	return cmd
}

// turnBenchFlags are the flags of `duet bench turn`.
type turnBenchFlags struct {
	addr, secret, secretFile, realm string
	allocations, pps, maxPPS, pid   int
	duration                        time.Duration
	search, jsonOut                 bool
}

func benchTURNCommand() *cobra.Command {
	var f turnBenchFlags
	cmd := &cobra.Command{
		Use:   "turn",
		Short: "Relay 160-byte packets from peers through a TURN server (duet's or coturn) and count loss",
		Long: `Opens --allocations allocations with credentials made from the server's shared secret (duet's
DATA/turn-secret or --turn-secret, coturn's static-auth-secret), binds a channel from each to a
peer socket, then has the peers send --pps packets per second in all through the relays for
--duration and counts what arrives. With --search it raises the rate from --pps by 25 % steps
until loss reaches 0.1 % (or --max-pps), then bisects, and reports the highest rate with
less than 0.1 % loss (a rate counts only if the generator sent at least 95 % of it: on a
machine it shares with the server, the generator runs out of CPU too). --server-pid adds the server process's CPU (from /proc/PID/stat).

The peers listen on 127.0.0.1, which a TURN server refuses to relay to by default (a relay
must not reach the server's own loopback): start duet's server with --turn-allow-peers
127.0.0.0/8 for this benchmark (coturn: --allow-loopback-peers).`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTURNBench(cmd.Context(), cmd.OutOrStdout(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "server-addr", "127.0.0.1:3478", "the TURN server's UDP address")
	fl.StringVar(&f.secret, "secret", "", "the server's shared secret")
	fl.StringVar(&f.secretFile, "secret-file", "", "read the secret from this file (duet's DATA/turn-secret)")
	fl.StringVar(&f.realm, "realm", "duet", "the server's realm")
	fl.IntVar(&f.allocations, "allocations", 10, "allocations carrying the load (1-1000)")
	fl.IntVar(&f.pps, "pps", 10000, "packets per second over all allocations (the start rate with --search)")
	fl.IntVar(&f.maxPPS, "max-pps", 400000, "with --search: the highest rate tried")
	fl.DurationVar(&f.duration, "duration", 5*time.Second, "how long each rate is sent (at most 60s)")
	fl.IntVar(&f.pid, "server-pid", 0, "the server's process id, to measure its CPU")
	fl.BoolVar(&f.search, "search", false, "find the highest rate with loss below 0.1 %")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object per run")
	return cmd
}

// maxLoss is the loss a rate may have and still count as carried.
const maxLoss = 0.001

// carried reports whether a run carried its rate: little loss, and the generator really
// sent at (nearly) the target rate, not slower because it ran out of CPU.
func carried(r turnload.Result) bool {
	return r.Loss() < maxLoss && r.SentPPS() >= 0.95*float64(r.PPS)
}

func runTURNBench(ctx context.Context, out io.Writer, f turnBenchFlags) error {
	secret := f.secret
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return err
		}
		secret = strings.TrimSpace(string(b))
	}
	switch {
	case secret == "":
		return errors.New("--secret or --secret-file is required")
	case f.allocations < 1 || f.allocations > 1000:
		return errors.New("--allocations must be 1-1000")
	case f.duration <= 0 || f.duration > time.Minute:
		return errors.New("--duration must be within (0, 60s]")
	case f.pps <= 0 || f.pps > f.maxPPS:
		return errors.New("--pps must be positive and at most --max-pps")
	}
	load, err := turnload.Open(ctx, turnload.Config{
		ServerAddr: f.addr, Secret: []byte(secret), Realm: f.realm, Allocations: f.allocations, PacketSize: 160,
	})
	if err != nil {
		return err
	}
	defer load.Close()
	once := func(pps int) (turnload.Result, error) {
		r, err := load.Run(ctx, pps, f.duration, f.pid)
		if err != nil {
			return r, err
		}
		printTURNRun(out, f, r)
		// Let the server's queues drain before the next rate.
		time.Sleep(300 * time.Millisecond)
		return r, nil
	}
	// A rate that loses gets two more tries: on two shared cores a stray burst of other
	// work can cost a run, and the search must not stop below the real ceiling for it.
	run := func(pps int) (r turnload.Result, err error) {
		for try := 0; try < 3; try++ {
			if r, err = once(pps); err != nil || carried(r) || !f.search {
				return r, err
			}
		}
		return r, nil
	}
	if !f.search {
		_, err := run(f.pps)
		return err
	}
	// Up by 25 % while the rate is carried, then bisect between the last carried rate and
	// the first that was not: at most about 20 runs from 10k to 400k.
	var best turnload.Result
	lo, hi := 0, 0
	for pps := f.pps; pps <= f.maxPPS; pps = pps * 5 / 4 {
		r, err := run(pps)
		if err != nil {
			return err
		}
		if !carried(r) {
			hi = pps
			break
		}
		lo, best = pps, r
	}
	for i := 0; i < 4 && hi > 0 && lo > 0 && hi-lo > lo/50; i++ {
		mid := (lo + hi) / 2
		r, err := run(mid)
		if err != nil {
			return err
		}
		if carried(r) {
			lo, best = mid, r
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		fmt.Fprintf(out, "no rate from %d pps was carried with loss below 0.1 %%\n", f.pps)
		return nil
	}
	perCore := ""
	if best.ServerCPU > 0 {
		perCore = fmt.Sprintf(", server CPU %.0f %% of a core, %.0f pps per core", best.ServerCPU*100, best.SentPPS()/best.ServerCPU)
	}
	fmt.Fprintf(out, "max: %.0f pps with loss below 0.1 %% over %d allocations (target %d pps%s)\n",
		best.SentPPS(), f.allocations, lo, perCore)
	return nil
}

func printTURNRun(out io.Writer, f turnBenchFlags, r turnload.Result) {
	if f.jsonOut {
		_ = json.NewEncoder(out).Encode(map[string]any{
			"allocations": f.allocations, "targetPps": r.PPS, "sentPps": r.SentPPS(), "sent": r.Sent,
			"received": r.Received, "lossPct": r.Loss() * 100, "serverCpu": r.ServerCPU,
		})
		return
	}
	cpu := ""
	if r.ServerCPU >= 0 {
		cpu = fmt.Sprintf("  server CPU %5.1f %%", r.ServerCPU*100)
	}
	fmt.Fprintf(out, "allocations %4d  target %7d pps  sent %8.0f pps  received %9d/%-9d  loss %6.3f %%%s\n",
		f.allocations, r.PPS, r.SentPPS(), r.Received, r.Sent, r.Loss()*100, cpu)
}
