# fnbox build. `make run` and `make test` install missing Debian packages first (scripts/deps.sh).
# Layout: every .c under kernel/ platform/ gofer/ snapshot/ api/ is part of build/fnbox, except
# *_test.c files, which are unit tests built one binary each, linked against the same objects.

CC       ?= gcc
OPT      ?= -O2
CFLAGS   += $(OPT) -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -fno-strict-aliasing \
            -fstack-protector-strong -MMD -MP
LDLIBS   += -lseccomp -lmsgpackc -llz4 -lmicrohttpd -ljson-c -larchive -lcap -lpthread
B        := build

LAYERS   := kernel platform gofer snapshot api
ALL_C    := $(shell find $(LAYERS) -name '*.c' | sort)
TEST_C   := $(filter %_test.c,$(ALL_C))
LIB_C    := $(filter-out %_test.c %_fuzz.c api/main.c,$(ALL_C))
ASM_S    := $(shell find $(LAYERS) -name '*.S' | sort)
LIB_O    := $(LIB_C:%.c=$(B)/obj/%.o) $(ASM_S:%.S=$(B)/obj/%.o)
TEST_BIN := $(TEST_C:%.c=$(B)/unit/%)

SYSCALL_C   := $(sort $(wildcard tests/syscalls/*.c))
SYSCALL_BIN := $(SYSCALL_C:tests/syscalls/%.c=$(B)/syscalls/%)
ESCAPE_C    := $(sort $(wildcard tests/escape/*.c))
ESCAPE_BIN  := $(ESCAPE_C:tests/escape/%.c=$(B)/escape/%)
E2E_C       := $(sort $(wildcard tests/e2e/progs/*.c))
E2E_BIN     := $(E2E_C:tests/e2e/progs/%.c=$(B)/e2e/%)
BENCH_C     := $(sort $(wildcard scripts/bench/*.c))
BENCH_BIN   := $(BENCH_C:scripts/bench/%.c=$(B)/bench/%)

.PHONY: all deps deps-test deps-bench run test test-full bench loadtest unit conformance e2e clean format \
        docs check-format
all: $(B)/fnbox

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(B)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libfnbox.a: $(LIB_O)
	@rm -f $@
	ar rcs $@ $^

$(B)/fnbox: $(B)/obj/api/main.o $(B)/libfnbox.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit/%: %.c $(B)/libfnbox.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libfnbox.a $(LDLIBS)

# Conformance programs are static so that they run the same natively and in the sandbox.
$(B)/syscalls/%: tests/syscalls/%.c tests/syscalls/conform.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -pthread -o $@ $< -lm
$(B)/escape/%: tests/escape/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -pthread -o $@ $<
$(B)/e2e/%: tests/e2e/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<
$(B)/bench/%: scripts/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

test: deps-test
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(SYSCALL_BIN) $(ESCAPE_BIN) $(E2E_BIN)
	@scripts/run-tests.sh

test-full: deps-test
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(SYSCALL_BIN) $(ESCAPE_BIN) $(E2E_BIN)
	@FNBOX_TEST_FULL=1 scripts/run-tests.sh

unit: $(TEST_BIN)
conformance: $(B)/fnbox $(SYSCALL_BIN)

# Warm-pool HTTP invoke latency and throughput with wrk (docs/performance.md, "fnbox serve").
loadtest: deps-test
	@$(MAKE) --no-print-directory all
	@scripts/loadtest.sh

bench: deps-bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@scripts/bench.sh

docs: $(B)/fnbox
	$(B)/fnbox syscalls --markdown > docs/compatibility.md

format:
	clang-format -i $(ALL_C) $(shell find $(LAYERS) -name '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
