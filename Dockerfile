# Meridian: authoritative GeoDNS. Multi-stage: build with dev dependencies,
# run with production dependencies only, as a non-root user.
#
#   docker build -t meridian .
#   docker run --rm -p 53:53/udp -p 53:53/tcp -p 127.0.0.1:9153:9153 meridian
#
# Port 53 as non-root: Docker (20.10+) sets net.ipv4.ip_unprivileged_port_start=0
# in the container's network namespace, so the node user may bind it. Where that
# sysctl is not set (host networking, some Kubernetes setups), the image also
# gives the node binary the file capability CAP_NET_BIND_SERVICE; keep that
# capability in the container's bounding set (Docker's default does; with
# --cap-drop ALL add --cap-add NET_BIND_SERVICE back).

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json binding.gyp ./
COPY scripts ./scripts
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

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
# The batched UDP addon (recvmmsg/sendmmsg), compiled in the build stage.
COPY --from=build /app/build/Release/udp_batch.node ./build/Release/udp_batch.node
COPY config ./config
USER node
EXPOSE 53/udp 53/tcp 9153/tcp
# The admin listener (metrics, explain, PoP admin) binds all interfaces inside
# the container so Prometheus can scrape it: publish it only where you mean to,
# and set MERIDIAN_ADMIN_TOKEN to enable the write API.
# IPv4 only by default (Docker networks often have IPv6 disabled); add
# "--listen", "[::]:53" where the container has IPv6.
CMD ["node", "dist/cli.js", "serve", "--listen", "0.0.0.0:53", "--admin", "0.0.0.0:9153"]
