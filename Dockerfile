# One image for every role; the command picks it:
#   edge/main.ts      the edge (PORT, default 8000)
#   regions/main.ts   a zone's worker, with ZONE=<zone> (PORT, default 8001)
#   bridge/main.ts    the Redis-over-HTTP bridge (PORT, default 8079), self-hosted Redis only
#   admin.ts …        the admin CLI (docker run --rm … admin.ts tenants list)
# Configured only by environment variables: see docs/DEPLOY.md. Secrets never go in the image.
FROM denoland/deno:2.9.6
WORKDIR /app
COPY . .
# .omnisql/audit: the audit journals (mount a volume there; a new named volume copies its owner).
RUN deno install && deno cache edge/main.ts regions/main.ts bridge/main.ts admin.ts \
  && mkdir -p /app/.omnisql/audit && chown -R deno:deno /app
USER deno
ENV PORT=8000
EXPOSE 8000 8001 8079
ENTRYPOINT ["deno", "run", "-A"]
CMD ["edge/main.ts"]
