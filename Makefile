# The README's two commands, `make demo` and `make check`, and the usual build targets.
# Meson does the building (into build/); this file only sequences it.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
MESON ?= meson

.PHONY: all deps check check-asan check-tsan check-fuzz demo bench install format format-check clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	@scripts/deps.sh build
	$(MESON) setup $(BUILD)

deps:
	@scripts/deps.sh check

# The whole suite; the last line is "N passed, N failed".
check:
	@scripts/deps.sh check
	@[ -f $(BUILD)/build.ninja ] || $(MESON) setup $(BUILD)
	ninja -C $(BUILD)
	@tests/run.sh $(BUILD)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan:
	@scripts/deps.sh check
	@[ -f $(ASAN_BUILD)/build.ninja ] || $(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN_BUILD)
	@tests/run.sh $(ASAN_BUILD)

# Every libFuzzer target (tests/fuzz) for FUZZ_SECONDS (default 20) each, built with clang.
check-fuzz:
	@scripts/deps.sh check
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang $(MESON) setup $(FUZZ_BUILD)
	ninja -C $(FUZZ_BUILD)
	@tests/run.sh $(FUZZ_BUILD) --suite fuzzrun

# The dispatch engine's and the fiber primitive's tests, and the stress test (a TSan fltmgrd,
# filters and driver; scaled down: TSan runs them several times slower), under
# ThreadSanitizer.  Any report fails: the programs exit 66, e2e-stress also looks for reports
# in fltmgrd's output (docs/reliability.md).
TSAN_TESTS ?= core-dispatch core-hotpath nt_ke fiber e2e-stress e2e-uring
TSAN_STRESS_WORKERS ?= 12
TSAN_STRESS_SECONDS ?= 30
check-tsan:
	@scripts/deps.sh check
	@[ -f $(TSAN_BUILD)/build.ninja ] || $(MESON) setup $(TSAN_BUILD) -Db_sanitize=thread -Db_lundef=false
	ninja -C $(TSAN_BUILD)
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
		STRESS_WORKERS=$(TSAN_STRESS_WORKERS) STRESS_SECONDS=$(TSAN_STRESS_SECONDS) \
		tests/run.sh $(TSAN_BUILD) $(TSAN_TESTS)

demo:
	@scripts/deps.sh demo
	@[ -f $(BUILD)/build.ninja ] || $(MESON) setup $(BUILD)
	ninja -C $(BUILD)
	@scripts/demo.sh $(BUILD)

# The benchmark suite (docs/bench.md): figures on stdout and in $(BUILD)/bench.json.
bench: all
	@bench/run.sh $(BUILD)

# Install the programs, libraries, headers, pkg-config files, CMake package, man pages, systemd
# unit and samples: `make install [PREFIX=/usr/local] [DESTDIR=/staging]`.  PREFIX, when given,
# is written into the build directory's configuration (without it, the configured prefix,
# /usr/local by default, stays); DESTDIR stages the files under another root.
PREFIX ?=
install: $(BUILD)/build.ninja
	@if [ -n "$(PREFIX)" ]; then \
		cur=$$($(MESON) introspect --buildoptions $(BUILD) | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))'); \
		[ "$$cur" = "$(abspath $(PREFIX))" ] || $(MESON) configure $(BUILD) -Dprefix=$(abspath $(PREFIX)); \
	fi
	ninja -C $(BUILD)
	$(MESON) install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^include/')

format-check:
	@out=$$(clang-format --dry-run $$(git ls-files '*.c' '*.h' | grep -v '^include/') 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; echo "format-check: run 'make format'"; exit 1; fi; \
	echo "format-check: clean"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
