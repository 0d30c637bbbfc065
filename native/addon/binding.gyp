{
  "targets": [
    {
      "target_name": "pocker",
      "sources": ["pocker.cc", "spawn.cc", "pidfd.cc", "watch.cc", "mount.cc", "netns.cc", "files.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
