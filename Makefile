# wharf - a git-push PaaS. `make help` lists the targets.
CC       ?= cc
PREFIX   ?= /usr/local
LLHTTP   ?= /usr/share/llhttp
PKGS      = libgit2 libcurl jansson libuv openssl libarchive
WARN      = -Wall -Wextra -Wshadow -Wformat=2 -Wvla
ifeq ($(CI),true)
WARN     += -Werror
endif
SANITIZE ?=
SANFLAGS  = $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer)
CFLAGS   ?= -O2 -g
ALLCFLAGS = -std=gnu11 $(CFLAGS) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -Isrc -Isrc/common \
            -I/usr/share/include/llhttp $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
B         = build$(if $(SANITIZE),-san)

PARTS     = common app receiver build runtime router plugins cli
SRC       = $(foreach p,$(PARTS),$(wildcard src/$(p)/*.c))
LIBSRC    = $(filter-out src/cli/main.c,$(SRC))
LIBOBJ    = $(LIBSRC:%.c=$(B)/%.o) $(B)/llhttp/llhttp.o $(B)/llhttp/api.o $(B)/llhttp/http.o
UNITSRC   = $(wildcard tests/unit/*/test_*.c)
UNITBIN   = $(UNITSRC:tests/unit/%.c=$(B)/tests/unit/%)
FUZZSRC   = $(wildcard tests/fuzz/fuzz_*.c)
REPLAYBIN = $(FUZZSRC:tests/fuzz/%.c=$(B)/tests/fuzz/replay_%)

.PHONY: all up test unit e2e fuzz-replay fuzz check bench lint install clean help
all: bin/wharf bin/wharf-router

bin/wharf: $(B)/src/cli/main.o $(B)/libwharf.a
	@mkdir -p bin
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

# `wharf router` alone, for the systemd unit: the same objects, without the libraries
# only the other commands need (their loading alone is most of the router's idle RSS).
bin/wharf-router: $(B)/src/routerd/main.o $(B)/libwharf.a
	@mkdir -p bin
	$(CC) $(ALLCFLAGS) -o $@ $^ $(shell pkg-config --libs libuv openssl jansson 2>/dev/null) -lpthread

$(B)/libwharf.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -c -o $@ $<

$(B)/llhttp/%.o: $(LLHTTP)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(SANFLAGS) -w -I/usr/share/include/llhttp -c -o $@ $<

$(B)/tests/unit/%: tests/unit/%.c $(B)/libwharf.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit -o $@ $< $(B)/libwharf.a $(LDLIBS) -lcmocka

# Fuzz targets are replayed over their corpora with a plain driver in every test
# run; `make fuzz` builds real libFuzzer binaries with clang.
$(B)/tests/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(B)/libwharf.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ $< tests/fuzz/replay_main.c $(B)/libwharf.a $(LDLIBS)

up:            ## as root: install dependencies, build, install, start dockerd, sshd and the router
	./scripts/setup.sh

test:          ## everything CI runs: deps, build, unit tests, fuzz corpora, end-to-end tests
	./scripts/test.sh

unit: $(UNITBIN) ## build and run the cmocka unit tests
	./scripts/run-unit.sh $(UNITBIN)

fuzz-replay: $(REPLAYBIN) ## replay every fuzz corpus through its target
	./scripts/run-fuzz-replay.sh $(REPLAYBIN)

e2e: bin/wharf ## run the bats end-to-end tests (real dockerd, sshd, git)
	./scripts/run-e2e.sh

fuzz:          ## build libFuzzer targets with clang and run each for FUZZ_SECONDS (default 60)
	./scripts/fuzz.sh

check:         ## build and run unit tests and fuzz replays with ASan and UBSan
	$(MAKE) SANITIZE=address,undefined unit fuzz-replay

bench:         ## router benchmarks against nginx and HAProxy
	./bench/run.sh

lint:          ## clang-format check and cppcheck
	clang-format --dry-run --Werror $(SRC) 2>&1 | head -50
	cppcheck --quiet --enable=warning,performance --error-exitcode=1 -Isrc/common $(SRC)

install: bin/wharf bin/wharf-router ## install bin/wharf and bin/wharf-router to $(PREFIX)/bin; buildpacks, bundled plugins and stack script to $(PREFIX)/share/wharf; bash completion
	install -D -m 0755 bin/wharf $(DESTDIR)$(PREFIX)/bin/wharf
	install -D -m 0755 bin/wharf-router $(DESTDIR)$(PREFIX)/bin/wharf-router
	rm -rf $(DESTDIR)$(PREFIX)/share/wharf/buildpacks
	mkdir -p $(DESTDIR)$(PREFIX)/share/wharf/scripts
	cp -R buildpacks $(DESTDIR)$(PREFIX)/share/wharf/buildpacks
	rm -rf $(DESTDIR)$(PREFIX)/share/wharf/plugins
	cp -R plugins $(DESTDIR)$(PREFIX)/share/wharf/plugins
	install -m 0755 scripts/stack-image.sh scripts/lib.sh $(DESTDIR)$(PREFIX)/share/wharf/scripts/
	install -D -m 0644 contrib/wharf-completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/wharf

clean:         ## remove build output
	rm -rf build build-san bin

help:          ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/' | expand -t 14

-include $(SRC:%.c=$(B)/%.d) $(B)/src/routerd/main.d
