# The two commands of the quick start (README):
#   make sandbox   set everything up and start the certification sandbox venue on 127.0.0.1:9878
#   make test      run the test suite (SQLite and PostgreSQL)
.PHONY: sandbox test setup bench

setup:
	scripts/setup.sh

sandbox: setup
	.venv/bin/venue sandbox $(ARGS)

test:
	scripts/test.sh $(ARGS)

bench: setup
	.venv/bin/python bench/book_bench.py
