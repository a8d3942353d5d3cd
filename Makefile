# rabulk — plain GNU make.  `make`, `make test`, `make demo`, `make V=1`,
# `make SANITIZER=address,undefined test`, `make valgrind`, `make WERROR=1`,
# `make install`, `make deb`.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
SANITIZER ?=
comma := ,

WARN    = -Wall -Wextra -Wstrict-prototypes -Wvla -Wwrite-strings -Wformat-security \
          -Wshadow -Wno-unused-parameter -Wno-format-truncation  # report cells truncate on purpose
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -MMD -MP -I.
ifneq ($(CI),)
WERROR  ?= 1
endif
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
ifneq ($(SANITIZER),)
BUILD   := $(BUILD)/san-$(subst $(comma),-,$(SANITIZER))
CFLAGS  += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZER)
endif
# The version is debian/changelog's latest entry's: one place to change it.
VERSION := $(shell sed -n '1s/^rabulk (\(.*\)) .*/\1/p' debian/changelog)
ifeq ($(VERSION),)
$(error no version: debian/changelog's first line should read 'rabulk (X.Y.Z) ...')
endif
PKGS    = libcurl libcjson libmicrohttpd libcrypto gnutls
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lpthread

ifeq ($(V),1)
Q =
say =
else
Q = @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

LIB_SRCS = $(filter-out cli/main.c emulator/main.c,$(wildcard lib/*.c service/*.c engine/*.c input/*.c output/*.c cli/*.c emulator/*.c))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

RABULK   = $(BUILD)/rabulk
EMULATOR = $(BUILD)/rabulk-emulator
COMPLETIONS = $(BUILD)/completions/rabulk $(BUILD)/completions/_rabulk

all: $(RABULK) $(EMULATOR) $(COMPLETIONS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/cli/main.o: CPPFLAGS += -DRABULK_VERSION='"$(VERSION)"'
$(BUILD)/cli/main.o: debian/changelog

$(BUILD)/librabulk.a: $(LIB_OBJS)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(RABULK): $(BUILD)/cli/main.o $(BUILD)/librabulk.a
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(EMULATOR): $(BUILD)/emulator/main.o $(BUILD)/librabulk.a
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Shell completions, printed by rabulk itself from its option table.
$(BUILD)/completions/rabulk: $(RABULK)
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(RABULK) --completion bash >$@.tmp && mv $@.tmp $@

$(BUILD)/completions/_rabulk: $(RABULK)
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(RABULK) --completion zsh >$@.tmp && mv $@.tmp $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/librabulk.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

unit: $(UNIT_BINS)

# One line at the end: "N passed, N failed".
test: all unit
	$(Q)SANITIZER=$(SANITIZER) RABULK=$(RABULK) EMULATOR=$(EMULATOR) UNIT_BINS="$(UNIT_BINS)" tests/run.sh

# The engine's tests (unit, spine, flow control): `make SANITIZER=thread test-engine`.
test-engine: all unit
	$(Q)SANITIZER=$(SANITIZER) RABULK=$(RABULK) EMULATOR=$(EMULATOR) UNIT_BINS="$(UNIT_BINS)" \
	  tests/run.sh engine

# The kill -9 / resume loop alone, N times: `make test-durability N=1000`.
N ?= 50
test-durability: all
	$(Q)RABULK_DURABILITY_RUNS=$(N) RABULK=$(RABULK) EMULATOR=$(EMULATOR) \
	  python3 tests/integration/run.py test_kill_9

test-unit: unit
	$(Q)RABULK=$(RABULK) EMULATOR=$(EMULATOR) UNIT_BINS="$(UNIT_BINS)" tests/run.sh unit

valgrind: all unit
	$(Q)RABULK=$(RABULK) EMULATOR=$(EMULATOR) UNIT_BINS="$(UNIT_BINS)" \
	  VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full" tests/run.sh unit

bench:
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)benchmarks/run.sh

deps:
	$(Q)scripts/deps.sh

# libFuzzer harnesses (clang): `make fuzz FUZZ_TIME=60` runs each for that
# many seconds under ASan+UBSan, seeded from tests/data/malformed. A crash
# leaves its input in build/fuzz/crashes/: add it to the corpus generator.
FUZZ_TIME ?= 30
FUZZ_CC   ?= clang
FUZZ_DIR   = build/fuzz
FUZZ_SRCS  = lib/err.c lib/array.c lib/pairkey.c $(wildcard input/*.c)
FUZZ_FLAGS = -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. \
             $(shell pkg-config --cflags libcjson) -fsanitize=fuzzer,address,undefined \
             -fno-sanitize-recover=all
FUZZERS    = $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard input/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRCS) \
	  $(shell pkg-config --libs libcjson) -lcsv

fuzz: $(FUZZERS)
	$(Q)FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZERS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(RABULK)

CLANG_FORMAT ?= $(shell command -v clang-format-14 || echo clang-format)
format:
	$(CLANG_FORMAT) -i $$(git ls-files '*.c' '*.h')

# Layout as .clang-format says, or fail (CI).
format-check:
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

# `make install PREFIX=/usr DESTDIR=pkg`: the two binaries, their man pages and
# the completions (where bash-completion and Debian's zsh look for them).
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(RABULK) $(EMULATOR) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/rabulk.1 man/rabulk-emulator.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUILD)/completions/rabulk $(DESTDIR)$(BASHCOMPDIR)/rabulk
	install -m 644 $(BUILD)/completions/_rabulk $(DESTDIR)$(ZSHCOMPDIR)/_rabulk

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/rabulk $(DESTDIR)$(PREFIX)/bin/rabulk-emulator \
	  $(DESTDIR)$(MANDIR)/man1/rabulk.1 $(DESTDIR)$(MANDIR)/man1/rabulk-emulator.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/rabulk $(DESTDIR)$(ZSHCOMPDIR)/_rabulk

# `make deb`: rabulk_$(VERSION)_amd64.deb here, by dpkg-buildpackage (debian/)
# in a copy of this tree under build/deb/ (its clean step empties build/, and
# it writes next to the tree it builds), then lintian, which must find no
# error. The unit tests run in the package build (the conformance one reads
# the recordings in ../shared; DEB_BUILD_OPTIONS=nocheck skips them).
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_SRC   = build/deb/rabulk-$(VERSION)
deb:
	$(Q)scripts/deps.sh deb
	$(Q)rm -rf build/deb && mkdir -p $(DEB_SRC)
	$(Q)tar -c --exclude-vcs --exclude=./build --exclude='./rabulk_*.deb' -f - . | tar -x -C $(DEB_SRC)
	$(Q)cd $(DEB_SRC) && RABULK_RECORDINGS=$(abspath ../shared/conformance/remoteapp-recordings) \
	  RABULK_AVD_RECORDINGS=$(abspath ../shared/conformance/avd-recordings) \
	  RABULK_AVD_SPEC=$(abspath ../shared/conformance/avd-spec-examples) \
	  dpkg-buildpackage -b -us -uc
	$(Q)cp build/deb/rabulk_$(VERSION)_$(DEB_ARCH).deb .
	$(Q)lintian --fail-on error build/deb/rabulk_$(VERSION)_$(DEB_ARCH).changes
	@echo "rabulk_$(VERSION)_$(DEB_ARCH).deb: install with apt-get install ./rabulk_$(VERSION)_$(DEB_ARCH).deb"

.SECONDARY:
.PHONY: all bench unit test test-durability test-engine test-unit valgrind deps demo format format-check clean install uninstall fuzz deb
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
