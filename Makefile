# fnbox build. `make run` and `make test` install missing Debian packages first (scripts/deps.sh).
# Layout: every .c under kernel/ platform/ gofer/ snapshot/ api/ is part of build/fnbox, except
# *_test.c files, which are unit tests built one binary each, linked against the same objects.

CC       ?= gcc
OPT      ?= -O2
CFLAGS   += $(OPT) -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -fno-strict-aliasing \
            -fstack-protector-strong -MMD -MP
# build/fnbox links only what every command needs; build/fnbox-serve (`fnbox serve` execs it)
# adds the HTTP server's libraries, which would cost every `fnbox run` ~4 ms of start-up to map.
BASE_LDLIBS  := -lseccomp -lmsgpackc -llz4 -lcap -lpthread
SERVE_LDLIBS := -lmicrohttpd -ljson-c -larchive
LDLIBS   += $(BASE_LDLIBS) $(SERVE_LDLIBS)
B        := build

LAYERS   := kernel platform gofer snapshot api
ALL_C    := $(shell find $(LAYERS) -name '*.c' | sort)
TEST_C   := $(filter %_test.c,$(ALL_C))
LIB_C    := $(filter-out %_test.c api/main.c api/serve_main.c snapshot/crc_gen.c kernel/loader/vdso/%,\
                         $(ALL_C))
ASM_S    := $(shell find $(LAYERS) -name '*.S' | sort)
LIB_O    := $(LIB_C:%.c=$(B)/obj/%.o) $(ASM_S:%.S=$(B)/obj/%.o)
TEST_BIN := $(TEST_C:%.c=$(B)/unit/%)

SYSCALL_C   := $(sort $(wildcard tests/syscalls/*.c))
SYSCALL_BIN := $(SYSCALL_C:tests/syscalls/%.c=$(B)/syscalls/%)
ESCAPE_C    := $(sort $(wildcard tests/escape/*.c))
ESCAPE_BIN  := $(ESCAPE_C:tests/escape/%.c=$(B)/escape/%)
ESCAPE_TOOLS := $(B)/escape-tools/reapcheck
SYSFUZZ_BIN := $(B)/fuzz/sysfuzz
E2E_C       := $(sort $(wildcard tests/e2e/progs/*.c))
E2E_BIN     := $(E2E_C:tests/e2e/progs/%.c=$(B)/e2e/%)
BENCH_C     := $(sort $(wildcard scripts/bench/*.c))
BENCH_BIN   := $(BENCH_C:scripts/bench/%.c=$(B)/bench/%)

.PHONY: all deps deps-test deps-bench deps-fuzz run test test-full bench loadtest fuzz fuzz-targets \
        unit conformance e2e clean format docs check-format escape
all: $(B)/fnbox

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench
deps-fuzz:
	@scripts/deps.sh fuzz

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(B)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The seccomp programs of api/confine.c are compiled from its rule tables at build time (by the
# same file built as a generator), so that no sandbox start pays for libseccomp's compiler.
$(B)/gen/confine_bpf.h: api/confine.c api/confine.h kernel/util/error.c kernel/util/log.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-function -Wno-unused-const-variable -D_GNU_SOURCE -I. \
	    -DFB_CONFINE_GEN -o $(B)/gen/confine-gen api/confine.c kernel/util/error.c \
	    kernel/util/log.c -lseccomp -lcap
	$(B)/gen/confine-gen > $@.tmp && mv $@.tmp $@
$(B)/obj/api/confine.o: $(B)/gen/confine_bpf.h
$(B)/obj/api/confine.o: CFLAGS += -I$(B)/gen

# The CRC-32C tables of snapshot/image.c, computed once here instead of in every process.
$(B)/gen/crc_tables.h: snapshot/crc_gen.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -std=gnu11 -Wall -Wextra -Werror -o $(B)/gen/crc-gen snapshot/crc_gen.c
	$(B)/gen/crc-gen > $@.tmp && mv $@.tmp $@
$(B)/obj/snapshot/image.o: $(B)/gen/crc_tables.h
$(B)/obj/snapshot/image.o: CFLAGS += -I$(B)/gen

# fnbox's vDSO: a freestanding shared object of its own, embedded by vdso_blob.S (.incbin).
VDSO_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -fPIC -ffreestanding \
               -fno-stack-protector -fno-builtin -fno-asynchronous-unwind-tables -fcf-protection=none \
               -nostdlib -shared -Wl,-T,kernel/loader/vdso/vdso.lds -Wl,--hash-style=both \
               -Wl,-soname=linux-vdso.so.1 -Wl,--no-undefined -Wl,-z,max-page-size=4096 -Wl,--build-id=none
$(B)/gen/vdso.so: kernel/loader/vdso/vdso.c kernel/loader/vdso/vdso.lds platform/platform.h
	@mkdir -p $(dir $@)
	$(CC) $(VDSO_CFLAGS) -o $@ kernel/loader/vdso/vdso.c
	@if readelf -rW $@ | grep -q 'Relocation section'; then \
	    echo "vdso.so has relocations; it must not" >&2; rm -f $@; exit 1; fi
$(B)/obj/kernel/loader/vdso/vdso_blob.o: $(B)/gen/vdso.so
$(B)/obj/kernel/loader/vdso/vdso_blob.o: CFLAGS += -Wa,-I,$(B)/gen

$(B)/libfnbox.a: $(LIB_O)
	@rm -f $@
	ar rcs $@ $^

# Static (and position-independent, so still randomised): every sandbox starts with an exec
# of this binary, and the dynamic loader's work (five libraries found, mapped and relocated,
# then copied-on-write into the forked Sentry and Gofer) cost ~0.5 ms of that and ~1.8 ms of
# CPU per restore (scripts/bench, A/B of both builds).
$(B)/fnbox: $(B)/obj/api/main.o $(B)/libfnbox.a | $(B)/fnbox-serve
	$(CC) $(CFLAGS) -static-pie -o $@ $^ $(BASE_LDLIBS)

$(B)/fnbox-serve: $(B)/obj/api/serve_main.o $(B)/libfnbox.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit/%: %.c $(B)/libfnbox.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libfnbox.a $(LDLIBS)

# Conformance programs are static so that they run the same natively and in the sandbox.
$(B)/syscalls/%: tests/syscalls/%.c tests/syscalls/conform.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -pthread -o $@ $< -lm
$(B)/escape/%: tests/escape/%.c tests/escape/escape.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -pthread -o $@ $<
# Host-side helper of the escape runner (not run in the sandbox).
$(B)/escape-tools/%: tests/escape/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<
# The syscall fuzzer runs inside the sandbox: static like the conformance programs.
$(B)/fuzz/sysfuzz: tests/fuzz/sysfuzz.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<
$(B)/e2e/%: tests/e2e/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<
$(B)/bench/%: scripts/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

# Fuzz targets (tests/fuzz/*_fuzz.c): libFuzzer with Debian's clang, ASan and UBSan. Each target
# links the sources it exercises, compiled with the fuzzer's instrumentation (not libfnbox.a).
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -fno-strict-aliasing \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
P9_FUZZ_SRC := gofer/p9_msg.c gofer/server.c gofer/view.c kernel/util/log.c kernel/util/error.c
IMAGE_FUZZ_SRC := snapshot/image.c snapshot/state.c api/image_meta.c kernel/util/error.c kernel/util/thread.c
SERVE_FUZZ_SRC := api/serve_route.c api/serve_util.c kernel/util/error.c
# The request-handling target runs a real server: its files are instrumented, and what they
# call beyond them (namespaces, memory files: api/sandbox.c reaches the whole Sentry) comes
# uninstrumented from libfnbox.a, whose own serve_*.o are never pulled (all defined here).
SERVE_HTTP_FUZZ_SRC := api/serve_http.c api/serve_route.c api/serve_registry.c \
                       api/serve_pool.c api/serve_util.c
# The fuzz targets, and the image target's seed maker (tests/fuzz/make_image_corpus.c, run by
# scripts/fuzz.sh).
FUZZ_BIN    := $(B)/fuzz/p9_fuzz $(B)/fuzz/image_fuzz $(B)/fuzz/serve_fuzz \
               $(B)/fuzz/serve_http_fuzz $(B)/fuzz/make_image_corpus

$(B)/fuzz/p9_fuzz: tests/fuzz/p9_fuzz.c $(P9_FUZZ_SRC) $(wildcard gofer/*.h kernel/util/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/p9_fuzz.c $(P9_FUZZ_SRC) -lpthread

$(B)/fuzz/image_fuzz: tests/fuzz/image_fuzz.c $(IMAGE_FUZZ_SRC) $(wildcard snapshot/*.h api/*.h) \
                     $(B)/gen/crc_tables.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(B)/gen -o $@ tests/fuzz/image_fuzz.c $(IMAGE_FUZZ_SRC) -llz4 \
	    -lmsgpackc -lpthread

$(B)/fuzz/serve_fuzz: tests/fuzz/serve_fuzz.c $(SERVE_FUZZ_SRC) api/serve.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/serve_fuzz.c $(SERVE_FUZZ_SRC) -ljson-c -larchive

$(B)/fuzz/serve_http_fuzz: tests/fuzz/serve_http_fuzz.c $(SERVE_HTTP_FUZZ_SRC) $(B)/libfnbox.a \
                          $(wildcard api/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/serve_http_fuzz.c $(SERVE_HTTP_FUZZ_SRC) \
	    $(B)/libfnbox.a $(LDLIBS)

# Built like a unit test: it checks its seeds with the reader the program uses.
$(B)/fuzz/make_image_corpus: tests/fuzz/make_image_corpus.c $(B)/libfnbox.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libfnbox.a $(LDLIBS)

fuzz-targets: $(FUZZ_BIN)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="p9 image sysfuzz"] [FUZZ_SEEDS=N]: run each fuzzer
# (scripts/fuzz.sh) for FUZZ_SECONDS.
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory all fuzz-targets $(ESCAPE_TOOLS) $(SYSFUZZ_BIN)
	@scripts/fuzz.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

test: deps-test
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(SYSCALL_BIN) $(ESCAPE_BIN) $(ESCAPE_TOOLS) \
	    $(SYSFUZZ_BIN) $(FUZZ_BIN) $(E2E_BIN)
	@scripts/run-tests.sh

test-full: deps-test
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(SYSCALL_BIN) $(ESCAPE_BIN) $(ESCAPE_TOOLS) \
	    $(SYSFUZZ_BIN) $(FUZZ_BIN) $(E2E_BIN)
	@FNBOX_TEST_FULL=1 scripts/run-tests.sh

unit: $(TEST_BIN)
escape: $(B)/fnbox $(ESCAPE_BIN) $(ESCAPE_TOOLS) $(SYSFUZZ_BIN)
	@tests/escape/run.sh
conformance: $(B)/fnbox $(SYSCALL_BIN)

# Warm-pool HTTP invoke latency and throughput with wrk (docs/performance.md, "fnbox serve").
loadtest: deps-test
	@$(MAKE) --no-print-directory all $(B)/bench/timeit
	@scripts/loadtest.sh

bench: deps-bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@scripts/bench.sh

docs: $(B)/fnbox
	$(B)/fnbox syscalls --markdown > docs/compatibility.md
	scripts/gen-security-tables.sh

format:
	clang-format -i $(ALL_C) $(shell find $(LAYERS) -name '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
