#!/usr/bin/env bash
# Builds the Debian package chainwire into dist/ with dpkg-deb alone (no
# debhelper): `make deb`. The package's files come from the repository as
# shipped, with the paths of `make install` (PREFIX=/usr/local) changed to
# the package's (/usr/bin, /usr/share/chainwire): deploy/chainwired.service,
# deploy/chainwire-nb.service and deploy/chainwire-nb are copied with those
# paths rewritten, never edited in place, because e2e/shipped_test.go runs
# the shipped files at their /usr/local paths.
#
# Environment:
#   GO          the go command (default go)
#   DIST        output directory (default dist)
#   VERSION     the package version (Debian form, e.g. 1.2.0-1); default from
#               `git describe --tags --always`: a tag v1.2.0 gives 1.2.0-1,
#               4 commits past it 1.2.0+git4.gHASH-1; with no tag, the top
#               version of deploy/debian/changelog as a snapshot before it,
#               0.1.0~gitCOUNT.HASH-1 (COUNT = commits on HEAD)
#   LINTIAN     yes (default): run lintian on the package and fail on an
#               error or warning it reports; no: skip it
#   SOURCE_DATE_EPOCH  file times and the snapshot's date (default: HEAD's
#               commit time), so a commit builds the same package twice
#
# Build tools (dpkg-deb, gzip; lintian and man-db for the check) are
# installed from Debian when missing and this runs as root, as
# deploy/install-deps.sh does; otherwise it names what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}
LINTIAN=${LINTIAN:-yes}
export LC_ALL=C.UTF-8 TZ=UTC
umask 022

die() { echo "build-deb: $*" >&2; exit 1; }

# --- tools
command -v "$GO" >/dev/null 2>&1 || die "$GO not found (set GO=/path/to/go or PATH=\$PATH:/usr/local/go/bin)"
pairs="dpkg-deb:dpkg gzip:gzip md5sum:coreutils git:git"
if [ "$LINTIAN" = yes ]; then
	pairs="$pairs lintian:lintian man:man-db groff:groff-base"
fi
need=()
for pair in $pairs; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		die "missing build tools: apt-get install ${need[*]} (or LINTIAN=no to skip the lintian check)"
	fi
	echo "build-deb: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- version, architecture, date
changelog=deploy/debian/changelog
top=$(sed -n '1s/^chainwire (\([^)]*\)).*/\1/p' "$changelog")
[ -n "$top" ] || die "$changelog: no version in its first line"
head=$(git rev-parse --short HEAD)
if [ -n "${VERSION:-}" ]; then
	version=$VERSION
elif describe=$(git describe --tags 2>/dev/null); then
	# a tag v1.2.0 (or 1.2.0), maybe with commits past it
	[[ $describe =~ ^v?([0-9]+(\.[0-9]+)+([~+][0-9A-Za-z.]+)?)(-([0-9]+)-g([0-9a-f]+))?$ ]] ||
		die "git describe says $describe: not a version tag (v1.2.0); set VERSION"
	version=${BASH_REMATCH[1]}
	if [ -n "${BASH_REMATCH[4]}" ]; then
		version="$version+git${BASH_REMATCH[5]}.g${BASH_REMATCH[6]}"
	fi
	version=$version-1
else
	# no tag (git describe --tags --always gives the bare commit): a
	# snapshot before the changelog's upstream version
	version="${top%-*}~git$(git rev-list --count HEAD).${head}-1"
fi
dpkg --validate-version "$version" >/dev/null 2>&1 || die "VERSION $version is not a valid Debian version"
arch=$(dpkg --print-architecture)
case "$arch" in
amd64 | arm64 | s390x | riscv64 | loong64) goarch=$arch ;;
i386) goarch=386 ;;
armhf) goarch=arm; export GOARM=7 ;;
armel) goarch=arm; export GOARM=5 ;;
ppc64el) goarch=ppc64le ;;
mips64el) goarch=mips64le ;;
*) die "no Go architecture known for $arch" ;;
esac
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
maintainer=$(sed -n 's/^Maintainer: //p' deploy/debian/control.in)

work=$DIST/build
root=$work/root
deb=$DIST/chainwire_${version}_${arch}.deb
rm -rf "$work"
mkdir -p "$work" "$root"
echo "build-deb: chainwire $version ($arch)"

# --- binaries: no cgo, so no shared library (a position-independent
# executable for ASLR needs only the dynamic loader to relocate it), stripped,
# reproducible (-trimpath, no build id). chainwire-lab, the lab and demo tool
# (network namespaces, its own OVS instances), stays out: a hypervisor does
# not need it.
CGO_ENABLED=0 GOOS=linux GOARCH=$goarch "$GO" build -trimpath -buildmode=pie \
	-ldflags="-s -w -buildid=" -o "$work/" ./cmd/chainwired ./cmd/chainctl
"$GO" build -o "$work/manpage" ./deploy/manpage

inst() { # MODE SRC DEST
	install -D -m "$1" "$2" "$root$3"
}
# the package's paths for `make install`'s /usr/local ones
packaged() { # SRC DEST MODE
	mkdir -p "$(dirname "$root$2")"
	sed -e 's#/usr/local/bin/#/usr/bin/#g' -e 's#/usr/local/share/chainwire#/usr/share/chainwire#g' "$1" >"$root$2"
	chmod "$3" "$root$2"
	if grep -n /usr/local "$root$2" >&2; then
		die "$1 still names /usr/local after the package's paths went in"
	fi
}

inst 0755 "$work/chainwired" /usr/bin/chainwired
inst 0755 "$work/chainctl" /usr/bin/chainctl
packaged deploy/chainwired.service /lib/systemd/system/chainwired.service 0644
packaged deploy/chainwire-nb.service /lib/systemd/system/chainwire-nb.service 0644
packaged deploy/chainwire-nb /usr/share/chainwire/chainwire-nb 0755
inst 0644 deploy/chainwire_nb.ovsschema /usr/share/chainwire/chainwire_nb.ovsschema
inst 0644 deploy/chainwired.yaml /etc/chainwire/chainwired.yaml
inst 0644 deploy/debian/chainwire-nb.default /etc/default/chainwire-nb
grep -q '^ExecStart=/usr/bin/chainwired ' "$root/lib/systemd/system/chainwired.service" ||
	die "the packaged chainwired.service does not run /usr/bin/chainwired"
grep -q '^ExecStart=/usr/share/chainwire/chainwire-nb run$' "$root/lib/systemd/system/chainwire-nb.service" ||
	die "the packaged chainwire-nb.service does not run /usr/share/chainwire/chainwire-nb"

# --- docs
doc=/usr/share/doc/chainwire
inst 0644 README.md "$doc/README.md"
for f in docs/*.md; do
	inst 0644 "$f" "$doc/$f"
done
{
	if [ "$version" != "$top" ]; then
		cat <<EOF
chainwire ($version) UNRELEASED; urgency=medium

  * Snapshot of commit $head.

 -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")

EOF
	fi
	cat "$changelog"
} | gzip -9n >"$work/changelog.Debian.gz"
inst 0644 "$work/changelog.Debian.gz" "$doc/changelog.Debian.gz"

# copyright: ours, then the license of everything linked into the binaries
heading() { printf '\n%s\n%s\n' "$1" "$(printf '%s' "$1" | tr -c '\n' -)"; }
{
	cat deploy/debian/copyright
	heading "The Go standard library, $("$GO" env GOVERSION)"
	cat "$("$GO" env GOROOT)/LICENSE"
	"$GO" version -m "$work/chainwired" "$work/chainctl" | awk '$1 == "dep" || $1 == "=>" { print $2, $3 }' | sort -u |
		while read -r mod ver; do
			dir=$("$GO" list -m -f '{{if .Replace}}{{.Replace.Dir}}{{else}}{{.Dir}}{{end}}' "$mod" 2>/dev/null || true)
			[ -n "$dir" ] && [ -d "$dir" ] || die "module $mod $ver: not in the module cache (go mod download)"
			heading "$mod $ver"
			found=
			for lic in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE*; do
				[ -f "$lic" ] || continue
				found=1
				if grep -q 'TERMS AND CONDITIONS FOR USE, REPRODUCTION' "$lic" && ! grep -qi 'MIT License' "$lic"; then
					echo "License: Apache-2.0 (see /usr/share/common-licenses/Apache-2.0)"
				else
					cat "$lic"
				fi
			done
			[ -n "$found" ] || die "module $mod $ver has no LICENSE file: add its license to deploy/debian/copyright by hand"
		done
} >"$work/copyright"
inst 0644 "$work/copyright" "$doc/copyright"

# --- man pages, from the packaged binaries' --help
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
upstream=${version%-*}
for page in chainctl:1 chainwired:8; do
	name=${page%:*} sec=${page#*:}
	"$work/manpage" -section "$sec" -version "$upstream" -date "$date" \
		-include "deploy/manpage/$name.include" -o "$work/$name.$sec" "$work/$name"
	gzip -9n <"$work/$name.$sec" >"$work/$name.$sec.gz"
	inst 0644 "$work/$name.$sec.gz" "/usr/share/man/man$sec/$name.$sec.gz"
done

# --- lintian overrides (the reasons are in the file)
inst 0644 deploy/debian/lintian-overrides /usr/share/lintian/overrides/chainwire

# --- control
mkdir -p "$root/DEBIAN"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" \
	deploy/debian/control.in >"$root/DEBIAN/control"
install -m 0644 deploy/debian/conffiles "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "deploy/debian/$s" "$root/DEBIAN/$s"
done
while read -r f; do
	[ -f "$root$f" ] || die "conffile $f is not in the package"
done <deploy/debian/conffiles

find "$root" -depth -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$DIST"/chainwire_*.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "build-deb: $deb"

if [ "$LINTIAN" = yes ]; then
	echo "build-deb: lintian $deb"
	lintian --info --display-info --pedantic --fail-on error,warning "$deb"
fi
