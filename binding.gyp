{
  "targets": [
    {
      "target_name": "rtp_io",
      "sources": ["native/rtp-io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    },
    {
      "target_name": "file_io",
      "sources": ["native/file-io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
