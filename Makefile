# nbstage — build, test, bench.  `make` builds both programs; `make test` runs every test.
#
# Layout: every .c in nbformat/ labeling/ model/ kernel/ goes into one static library,
# except the two program entry points (main_*.c).  Unit tests are tests/unit/test_*.c,
# one cmocka binary each; they are built twice, optimised and under ASan+UBSan.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share
DESTDIR  ?=
PYTHON   ?= /usr/bin/python3
SHARED   ?= ../shared

CC       ?= cc
PKGS     := libzmq jansson libsodium openblas libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -I. $(PKG_CFLAGS)
CFLAGS   ?= -O2 -g
# Each compile writes its own header dependencies beside its output (X.o -> X.d, a unit
# test or bench binary X -> X.d), included below: a header edit rebuilds only what
# includes it, directly or not.  -MP: a header deleted does not break the build.
DEPFLAGS := -MMD -MP
LDLIBS   := $(PKG_LIBS) -lm -pthread

MODULES  := nbformat labeling model kernel
SRC      := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
MAINS    := $(filter %/main_nbstage.c %/main_kernel.c,$(SRC))
LIBSRC   := $(filter-out $(MAINS),$(SRC))
HDRS     := $(foreach m,$(MODULES),$(wildcard $(m)/*.h))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_HDRS := $(wildcard tests/unit/*.h)

# B: objects; BIN: the two programs.  Parallel work trees use their own, e.g.
# `make B=build/me BIN=build/me`.
B        ?= build
BIN      ?= .
LIBOBJ   := $(LIBSRC:%.c=$(B)/%.o)
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
SAN      := $(B)/san
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# clang links its sanitizer runtime into the binary unless -shared-libsan; gcc links
# libasan.so.  The unit tests' allocation seams (test_*_oom.c, test_lfset_many.c) define
# malloc or realloc and call the next one (dlsym RTLD_NEXT): ASan's when it is in a .so,
# but glibc's when it is in the binary (the seam's definition replaces ASan's there),
# and ASan then refuses glibc's blocks in free and realloc: a crash.  The runtime's
# folder is not on the loader's path, hence the rpath.  gcc has no -print-runtime-dir:
# nothing added.
SAN_RTDIR := $(shell $(CC) -print-runtime-dir 2>/dev/null)
SAN_LDFLAGS := $(if $(SAN_RTDIR),-shared-libsan -Xlinker -rpath -Xlinker $(SAN_RTDIR))
SAN_LIBOBJ := $(LIBSRC:%.c=$(SAN)/%.o)
SAN_UNITS  := $(UNIT_SRC:tests/unit/%.c=$(SAN)/tests/%)
SAN_PROGS  := $(SAN)/nbstage $(SAN)/nbstage-kernel
# The bench drivers, built (not run) by `make test` too, so that a library change that
# breaks their link fails the tests and not a later `make bench`.
BENCH_PROGS := $(patsubst tests/bench/%.c,$(B)/bench/%,$(wildcard tests/bench/*.c))

.PHONY: all deps deps-arm test test-arm test-long unit unit-san integration bench fuzz model run install uninstall clean
all: $(BIN)/nbstage $(BIN)/nbstage-kernel

# An output with no .d beside it yet depends on every header (a unit test also on
# tests/unit/*.h), as all did before the .d files: one built by an older Makefile is
# then still rebuilt by a header edit (once: that compile writes its .d).  $$* is the
# pattern's stem, hence the second expansion.
.SECONDEXPANSION:
NO_DEPS_YET = $(if $(wildcard $(1).d),,$(HDRS) $(2))

$(B)/%.o: %.c $$(call NO_DEPS_YET,$(B)/$$*)
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(BASE_CFLAGS) $(DEPFLAGS) $(CFLAGS) -c $< -o $@
$(B)/libnbstage.a: $(LIBOBJ)
	@rm -f $@; ar rcs $@ $^
$(BIN)/nbstage: $(B)/model/main_nbstage.o $(B)/libnbstage.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/nbstage-kernel: $(B)/kernel/main_kernel.o $(B)/libnbstage.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/%: tests/unit/%.c $(B)/libnbstage.a $$(call NO_DEPS_YET,$(B)/tests/$$*,$(UNIT_HDRS))
	@mkdir -p $(dir $@)
	@echo "LINK $@"; $(CC) $(BASE_CFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $< $(B)/libnbstage.a $(LDLIBS) -lcmocka

$(B)/bench/%: tests/bench/%.c $(B)/libnbstage.a $$(call NO_DEPS_YET,$(B)/bench/$$*)
	@mkdir -p $(dir $@)
	@echo "LINK $@"; $(CC) $(BASE_CFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $< $(B)/libnbstage.a $(LDLIBS)

# The sanitizer build: same sources, separate objects.
$(SAN)/%.o: %.c $$(call NO_DEPS_YET,$(SAN)/$$*)
	@mkdir -p $(dir $@)
	@echo "CC [san] $<"; $(CC) $(BASE_CFLAGS) $(DEPFLAGS) $(SAN_FLAGS) -c $< -o $@
$(SAN)/libnbstage.a: $(SAN_LIBOBJ)
	@rm -f $@; ar rcs $@ $^
# The two programs built the same way, for the integration tests' sanitizer pass
# (in $(SAN), two folders below the source tree, so they find share/default.nbsm).
$(SAN)/nbstage: $(SAN)/model/main_nbstage.o $(SAN)/libnbstage.a
	@mkdir -p $(dir $@)
	@echo "LINK $@"; $(CC) $(SAN_FLAGS) $(SAN_LDFLAGS) -o $@ $^ $(LDLIBS)
$(SAN)/nbstage-kernel: $(SAN)/kernel/main_kernel.o $(SAN)/libnbstage.a
	@mkdir -p $(dir $@)
	@echo "LINK $@"; $(CC) $(SAN_FLAGS) $(SAN_LDFLAGS) -o $@ $^ $(LDLIBS)
$(SAN)/tests/%: tests/unit/%.c $(SAN)/libnbstage.a $$(call NO_DEPS_YET,$(SAN)/tests/$$*,$(UNIT_HDRS))
	@mkdir -p $(dir $@)
	@echo "LINK $@"; $(CC) $(BASE_CFLAGS) $(DEPFLAGS) $(SAN_FLAGS) $(SAN_LDFLAGS) -o $@ $< $(SAN)/libnbstage.a $(LDLIBS) -lcmocka

# The dependencies the compiles above wrote (none before the first build).
-include $(patsubst %.c,$(B)/%.d,$(SRC)) $(patsubst %.c,$(SAN)/%.d,$(SRC)) \
         $(UNITS:=.d) $(SAN_UNITS:=.d) $(BENCH_PROGS:=.d)

# Debian packages for building, testing and benchmarking.  Idempotent; quiet when done.
deps:
	@sh tests/deps.sh

# All tests: unit (optimised), unit (ASan+UBSan), integration with real Jupyter, and
# most integration tests again against both programs built under ASan+UBSan.
# The last line is the total, "N passed, N failed".
# The build uses every core unless make was given its own -j (CI calls plain "make test").
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
PARALLEL = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(JOBS))
test: deps
	@$(MAKE) --no-print-directory $(PARALLEL) all $(UNITS) $(SAN_UNITS) $(SAN_PROGS) $(BENCH_PROGS)
	@NBSTAGE_BIN="$(abspath $(BIN))" NBSTAGE_B="$(abspath $(B))" NBSTAGE_SAN_BIN="$(abspath $(SAN))" \
	    sh tests/run.sh $(UNITS) -- $(SAN_UNITS)

unit: $(UNITS)
	@NBSTAGE_UNIT_ONLY=1 sh tests/run.sh $(UNITS) --
unit-san: $(SAN_UNITS)
	@NBSTAGE_UNIT_ONLY=1 sh tests/run.sh -- $(SAN_UNITS)
# Integration tests alone (real Jupyter, real browser), then their sanitizer pass.
integration: all $(SAN_PROGS)
	@NBSTAGE_BIN="$(abspath $(BIN))" NBSTAGE_B="$(abspath $(B))" NBSTAGE_SAN_BIN="$(abspath $(SAN))" sh tests/run.sh
# The integration tests left out of `make test` for their time (marked long): `make fuzz`
# built and run, a header edit rebuilding what includes it, the shipped rules scored on
# the whole corpus.  About a minute and a half on 2 cores (93.7 s, 2026-12-05).
# run, bench and test-long build in a make started after deps (as test does): the
# compiler flags come from pkg-config, which a new machine has only once deps has run.
test-long: deps
	@$(MAKE) --no-print-directory $(PARALLEL) all
	@NBSTAGE_BIN="$(abspath $(BIN))" NBSTAGE_B="$(abspath $(B))" \
	    $(PYTHON) -m pytest -q -p no:cacheprovider -m long tests/integration

# nbstage built for 64-bit ARM and its NEON walk tested under qemu-user (tests/arm.sh);
# not in `make test`: it needs the arm64 packages of deps-arm.  About 5 minutes.
deps-arm:
	@sh tests/deps-arm.sh
test-arm: deps deps-arm
	@$(MAKE) --no-print-directory $(PARALLEL) all
	@SHARED="$(SHARED)" sh tests/arm.sh

bench: deps
	@$(MAKE) --no-print-directory $(PARALLEL) all $(BENCH_PROGS)
	@NBSTAGE_BIN="$(abspath $(BIN))" B="$(B)" sh tests/bench/run.sh

fuzz:
	@B=$(B) sh tests/fuzz/run.sh

# Rebuild the shipped default model from ../shared/corpus: ingest -> label -> train.
model: all
	@NBSTAGE_BIN="$(abspath $(BIN))" sh share/make-model.sh $(SHARED)

# The main job: build, install the kernelspec for this user, open the demo notebook.
run: deps
	@$(MAKE) --no-print-directory $(PARALLEL) all
	@NBSTAGE_BIN="$(abspath $(BIN))" sh share/run-demo.sh

# The programs find their model and rules beside themselves (BINDIR/../share/nbstage),
# so that an installed tree can be moved: a DATADIR elsewhere would be installed and
# never found, and is refused.
install: all
	@[ "$$(realpath -ms "$$(dirname "$$(realpath -ms "$(BINDIR)")")/share")" = "$$(realpath -ms "$(DATADIR)")" ] || { echo "make install: DATADIR ($(DATADIR)) must be BINDIR/../share ($$(dirname "$(BINDIR)")/share): nbstage finds its model there, beside itself" >&2; exit 2; }
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(DATADIR)/nbstage"
	install -m 755 "$(BIN)/nbstage" "$(BIN)/nbstage-kernel" "$(DESTDIR)$(BINDIR)/"
	install -m 644 share/default.nbsm share/rules.txt "$(DESTDIR)$(DATADIR)/nbstage/"
# What install put there, and the folder only if that leaves it empty (a user's own
# model kept beside the shipped one stays).
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/nbstage" "$(DESTDIR)$(BINDIR)/nbstage-kernel"
	rm -f "$(DESTDIR)$(DATADIR)/nbstage/default.nbsm" "$(DESTDIR)$(DATADIR)/nbstage/rules.txt"
	rmdir "$(DESTDIR)$(DATADIR)/nbstage" 2>/dev/null || true

clean:
	rm -rf "$(B)" "$(BIN)/nbstage" "$(BIN)/nbstage-kernel"
