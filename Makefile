# The two commands of the README, and the benchmarks.
.PHONY: run test bench bench-bot bench-announce setup

run:            ## set up (first time: a few minutes) and start the assistant: terminal chat, or Telegram with a token
	scripts/setup.sh --quick-start
	.venv/bin/xijin run

test:           ## set up what the tests need and run them all
	scripts/test.sh

bench:          ## benchmarks (not tests): write docs/benchmarks.md
	scripts/setup.sh --no-data
	.venv/bin/python benchmarks/bench_bot.py
	.venv/bin/python benchmarks/bench_tickets.py
	.venv/bin/python benchmarks/bench_announce.py

bench-bot:      ## only the end-to-end benchmark of the bot against Rasa asked directly
	scripts/setup.sh --no-data
	.venv/bin/python benchmarks/bench_bot.py

bench-announce: ## only the announcement benchmark: 1,000 subscribers through the relay, within Telegram's limits
	scripts/setup.sh --no-data
	.venv/bin/python benchmarks/bench_announce.py

setup:
	scripts/setup.sh
