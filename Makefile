# Quick start: `make run` (standalone server on 127.0.0.1:2181) and `make test` (every test).
# Both install missing Debian packages first, then configure and build into build/.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= conf/standalone.cfg

# Build: compiler, CMake, Boost (DLL, Asio, filesystem), spdlog, SQLite, OpenSSL, zlib, GoogleTest.
BUILD_PACKAGES := g++ cmake make pkg-config libboost-dev libboost-filesystem-dev \
  libboost-system-dev libspdlog-dev libfmt-dev libsqlite3-dev libssl-dev zlib1g-dev \
  libgtest-dev googletest libzookeeper-mt-dev libedit-dev libcpp-httplib-dev nlohmann-json3-dev
# Tests: kazoo and pytest for Debian's own python3, the reference ZooKeeper 3.8 server and
# its C client (cli_mt), netcat for four-letter words, openssl for test certificates, gnuplot
# for the benchmark tool's plots, curl for the AdminServer, iproute2 for the partition tests
# (network namespaces).
TEST_PACKAGES := python3 python3-kazoo python3-pytest zookeeper zookeeper-bin \
  netcat-openbsd default-jre-headless openssl gnuplot-nox curl iproute2

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps test-deps build run test clean

all: build

# Installs only what is missing; runs `apt-get update` once, only when something is.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps:
	$(call install_missing,$(BUILD_PACKAGES) $(TEST_PACKAGES))

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p data
	$(BUILD_DIR)/bin/paddock $(CONFIG)

test: test-deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)
	tests/run_all.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
