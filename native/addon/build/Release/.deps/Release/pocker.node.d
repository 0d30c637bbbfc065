cmd_Release/pocker.node := ln -f "Release/obj.target/pocker.node" "Release/pocker.node" 2>/dev/null || (rm -rf "Release/pocker.node" && cp -af "Release/obj.target/pocker.node" "Release/pocker.node")
