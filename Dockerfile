# Meridian: authoritative GeoDNS. Multi-stage: build with dev dependencies,
# run with production dependencies only, as a non-root user.
#
#   docker build -t meridian .                      # with the batched UDP addon when it builds
#   docker build --build-arg NATIVE=0 -t meridian . # without a compiler: node:dgram
#   docker run --rm -p 53:53/udp -p 53:53/tcp -p 127.0.0.1:9153:9153 \
#     -e MERIDIAN_ADMIN_TOKEN="$(openssl rand -hex 24)" meridian
#
# The admin listener binds all interfaces inside the container so Prometheus
# can scrape it, and the shipped config takes the admin token from
# MERIDIAN_ADMIN_TOKEN: on a non-loopback listener Meridian refuses to start
# when that variable is unset or shorter than 16 characters (mount a config
# without admin.token_env for a deliberately read-only admin API).
#
# Port 53 as non-root: Docker (20.10+) sets net.ipv4.ip_unprivileged_port_start=0
# in the container's network namespace, so the node user may bind it. Where that
# sysctl is not set (host networking, some Kubernetes setups), the image also
# gives the node binary the file capability CAP_NET_BIND_SERVICE; keep that
# capability in the container's bounding set (Docker's default does; with
# --cap-drop ALL add --cap-add NET_BIND_SERVICE back).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# A C toolchain for the optional batched-UDP addon (native/udp_batch.c).
ARG NATIVE=1
RUN if [ "$NATIVE" = "1" ]; then \
      apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; \
    fi
COPY package.json package-lock.json ./
# Dependencies without lifecycle scripts: the addon is built below, where its output shows.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json binding.gyp ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
RUN npx tsc -p tsconfig.json
# Never fails the build: when the addon cannot be built, build-native.mjs prints
# node-gyp's reason (missing Python/make/compiler, a compile error) and the
# server falls back to node:dgram. It builds against the image's own Node.js
# headers (/usr/local/include/node), so no download is needed.
RUN node scripts/build-native.mjs
# Stage what the runtime image takes: the addon only if it exists (COPY cannot be conditional).
RUN mkdir -p .image/build/Release \
 && if [ -f build/Release/udp_batch.node ]; then \
      cp build/Release/udp_batch.node .image/build/Release/ && echo "image: with the batched UDP addon"; \
    else \
      echo "image: no batched UDP addon; Meridian will serve UDP with node:dgram"; \
    fi

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")" \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/.image/ ./
COPY config ./config
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
USER node
EXPOSE 53/udp 53/tcp 9153/tcp
# /healthz on the admin listener; the first start compiles the geo database (seconds).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
# IPv4 only by default (Docker networks often have IPv6 disabled); add
# "--listen", "[::]:53" where the container has IPv6.
CMD ["node", "dist/cli.js", "serve", "--listen", "0.0.0.0:53", "--admin", "0.0.0.0:9153"]
