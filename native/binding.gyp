{
  "targets": [
    {
      "target_name": "egresswatch_netlink",
      "sources": ["netlink.c", "tracer.c", "execwatch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
