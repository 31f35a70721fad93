# The two commands of the README, and the benchmarks.
.PHONY: run test bench setup

run:            ## set up (first time: a few minutes) and start the assistant: terminal chat, or Telegram with a token
	scripts/setup.sh
	.venv/bin/xijin run

test:           ## set up what the tests need and run them all
	scripts/test.sh

bench:          ## benchmarks (not tests): write docs/benchmarks.md
	scripts/setup.sh --no-train --no-data
	.venv/bin/python benchmarks/bench_tickets.py

setup:
	scripts/setup.sh
