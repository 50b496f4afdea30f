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
# libnghttp2 serves HTTP/2 in the router (src/router/h2.c) and nothing else: linked into
# what contains the router (bin/wharf-router; bin/wharf for `wharf router`; the tests).
H2LIBS    = $(shell pkg-config --libs libnghttp2 2>/dev/null || echo -lnghttp2)
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(H2LIBS) -lpthread -lcrypt
B         = build$(if $(SANITIZE),-san)

# Every folder under src/ is a part of libwharf.a, except routerd (bin/wharf-router's main).
PARTS     = $(filter-out routerd,$(patsubst src/%/,%,$(wildcard src/*/)))
SRC       = $(foreach p,$(PARTS),$(wildcard src/$(p)/*.c))
LIBSRC    = $(filter-out src/cli/main.c,$(SRC))
LIBOBJ    = $(LIBSRC:%.c=$(B)/%.o) $(B)/llhttp/llhttp.o $(B)/llhttp/api.o $(B)/llhttp/http.o
UNITSRC   = $(wildcard tests/unit/*/test_*.c)
UNITBIN   = $(UNITSRC:tests/unit/%.c=$(B)/tests/unit/%)
UNITLIB   = $(wildcard tests/unit/lib/*.c)
FUZZSRC   = $(wildcard tests/fuzz/fuzz_*.c)
REPLAYBIN = $(FUZZSRC:tests/fuzz/%.c=$(B)/tests/fuzz/replay_%)
SANDEFAULT = address,undefined

# What `make lint` reads: every C file of ours, every shell program (plugins' executables
# that start with a shell's #!), the bats files.
CFILES    = $(sort $(wildcard src/*/*.[ch] tests/*/*.[ch] tests/*/*/*.[ch]))
SHFILES   = $(wildcard scripts/*.sh bench/*.sh buildpacks/*/bin/* tests/e2e/*.bash \
              tests/e2e/lib/*.bash) \
            $(shell grep -lsE '^\#!(/usr)?/bin/(env )?(ba)?sh' $(wildcard plugins/*/* plugins/*/*/*))
BATSFILES = $(wildcard tests/e2e/*.bats)
# cppcheck sees jansson.h (its foreach macros) but not the rest of the system's headers,
# whose checks are not ours. readdir_r is deprecated (readdir is thread-safe per DIR); the
# commands that call getpwuid are single-threaded.
CPPCHECK  = cppcheck --quiet --error-exitcode=1 --inline-suppr \
            --enable=warning,performance,portability --library=posix --library=gnu \
            --library=libcurl --library=openssl -D_GNU_SOURCE -Isrc -Isrc/common \
            -I/usr/share/include/llhttp $(shell pkg-config --cflags-only-I $(PKGS) 2>/dev/null) \
            --include=/usr/include/jansson.h --suppress=missingIncludeSystem \
            --suppress='*:/usr/*' --suppress=readdirCalled --suppress=getpwuidCalled \
            --template='{file}:{line}: {severity} ({id}): {message}'

.PHONY: all up test unit e2e fuzz-replay fuzz check bin-san bench lint lint-format \
        lint-cppcheck lint-shell lint-layers format install clean help
all: bin/wharf bin/wharf-router

bin/wharf: $(B)/src/cli/main.o $(B)/libwharf.a
	@mkdir -p bin
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

# `wharf router` alone, for the systemd unit: the same objects, without the libraries
# only the other commands need (their loading alone is most of the router's idle RSS).
ROUTERLIBS = $(shell pkg-config --libs libuv openssl jansson 2>/dev/null) $(H2LIBS) -lpthread
bin/wharf-router: $(B)/src/routerd/main.o $(B)/libwharf.a
	@mkdir -p bin
	$(CC) $(ALLCFLAGS) -o $@ $^ $(ROUTERLIBS)

# bin/wharf's twin in the build directory: `make SANITIZE=address,undefined build-san/wharf`
# (or `make bin-san`) builds the sanitizer binary the ASan stage of scripts/test.sh runs.
$(B)/wharf: $(B)/src/cli/main.o $(B)/libwharf.a
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

$(B)/wharf-router: $(B)/src/routerd/main.o $(B)/libwharf.a
	$(CC) $(ALLCFLAGS) -o $@ $^ $(ROUTERLIBS)

$(B)/libwharf.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

# Each object depends on the headers it includes, as the compiler lists them in its .d file
# (-MMD; -MP adds an empty rule per header, so a header that is removed or moved does not
# stop the build). A first build has no .d files and needs none: every object is missing.
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

$(B)/llhttp/%.o: $(LLHTTP)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(SANFLAGS) -w -I/usr/share/include/llhttp -c -o $@ $<

# tests/unit/lib/ holds fakes shared by the tests (a fake Docker, a fake router).
$(B)/tests/unit/%: tests/unit/%.c $(UNITLIB) $(wildcard tests/unit/lib/*.h) $(B)/libwharf.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -Itests/unit -o $@ $< $(UNITLIB) $(B)/libwharf.a $(LDLIBS) -lcmocka

# Fuzz targets are replayed over their corpora with a plain driver in every test
# run; `make fuzz` builds real libFuzzer binaries with clang.
$(B)/tests/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(B)/libwharf.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -o $@ $< tests/fuzz/replay_main.c $(B)/libwharf.a $(LDLIBS)

up:            ## as root: install dependencies, build, install, start dockerd, sshd and the router
	./scripts/setup.sh

test:          ## everything CI runs: deps, build, lint, unit tests, fuzz corpora, end-to-end tests, the same under ASan (scripts/test.sh STAGE... for some)
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
	$(MAKE) SANITIZE=$(SANDEFAULT) unit fuzz-replay

bin-san:       ## build build-san/wharf and build-san/wharf-router with ASan and UBSan (SANITIZE=... for others)
	$(MAKE) SANITIZE=$(or $(SANITIZE),$(SANDEFAULT)) build-san/wharf build-san/wharf-router

bench:         ## router benchmarks against nginx and HAProxy
	./bench/run.sh

lint:          ## clang-format check, cppcheck, shellcheck, the layer check: every check runs, counted
	./scripts/lint.sh

lint-format:   ## the C files are as `make format` would leave them
	clang-format --dry-run --Werror $(CFILES)

lint-cppcheck: ## cppcheck on src/ and tests/, failing on any finding
	$(CPPCHECK) $(filter %.c,$(CFILES))

lint-layers:   ## each part of src/ includes only the parts docs/architecture.md lets it call
	./scripts/layers.sh

lint-shell:    ## shellcheck on scripts, benches, buildpacks, plugins, bats files and their libs
	shellcheck -x $(SHFILES)
	shellcheck -x --shell=bats $(BATSFILES)

format:        ## clang-format every C file in place (.clang-format)
	clang-format -i $(CFILES)

install: bin/wharf bin/wharf-router ## install bin/wharf and bin/wharf-router to $(PREFIX)/bin; buildpacks, bundled plugins and stack script to $(PREFIX)/share/wharf; bash completion
	install -D -m 0755 bin/wharf $(DESTDIR)$(PREFIX)/bin/wharf
	install -D -m 0755 bin/wharf-router $(DESTDIR)$(PREFIX)/bin/wharf-router
	rm -rf $(DESTDIR)$(PREFIX)/share/wharf/buildpacks
	mkdir -p $(DESTDIR)$(PREFIX)/share/wharf/scripts
	cp -R buildpacks $(DESTDIR)$(PREFIX)/share/wharf/buildpacks
	rm -rf $(DESTDIR)$(PREFIX)/share/wharf/plugins
	cp -R plugins $(DESTDIR)$(PREFIX)/share/wharf/plugins
	install -m 0755 scripts/stack-image.sh scripts/service-image.sh scripts/lib.sh $(DESTDIR)$(PREFIX)/share/wharf/scripts/
	install -D -m 0644 contrib/wharf-completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/wharf

clean:         ## remove build output
	rm -rf build build-san bin

help:          ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/' | expand -t 14

-include $(SRC:%.c=$(B)/%.d) $(B)/src/routerd/main.d $(UNITBIN:%=%.d) $(REPLAYBIN:%=%.d)
