#!/bin/ksh
#
# openbsdbuild-agent: configures an OpenBsdBuild golden image for the EC2 instance it boots on.
# New-OpenBsdImage -Target Ec2 installs it as /usr/local/libexec/openbsdbuild-agent and runs it from
# /etc/rc.local on every boot (docs/golden-images.md, "The EC2 first-boot agent"). Only OpenBSD base:
# ksh, and perl's core HTTP::Tiny for the metadata service, because ftp(1) can send neither a PUT nor a
# request header (docs/openbsd-notes.md).
#
# It speaks IMDSv2 only (a token from PUT /latest/api/token, sent with every GET), so it works on
# instances launched with HttpTokens=required. Once per instance (its instance-id, kept in $STATE):
# set the hostname, generate new SSH host keys, install the instance's public key for the build user,
# arm the self-destruct the user data asks for; then, on every boot, print the host key fingerprints on
# the console between the markers New-MetalHost reads; last, once per instance, run the user data if it
# is a script.
#
# Runnable by hand as root (BUILD_USER=builder ksh openbsdbuild-agent.ksh): it does nothing again for an
# instance it has already configured.

: "${BUILD_USER:?the build user, who gets the instance key}"

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
unset http_proxy HTTP_PROXY all_proxy ALL_PROXY
umask 022

IMDS=http://169.254.169.254
STATE=/var/db/openbsdbuild-agent
TOKEN_TTL=21600
# How long to wait for the metadata service after boot (the DHCP lease may still be on its way).
ATTEMPTS=60
BEGIN_MARKER='-----BEGIN SSH HOST KEY FINGERPRINTS-----'
END_MARKER='-----END SSH HOST KEY FINGERPRINTS-----'

say() {
	echo "openbsdbuild-agent: $*"
}

# One request to the metadata service: METHOD URL [HEADER VALUE]. The body goes to stdout.
# Exit status: 0 success, 3 = 401 (token missing, expired or wrong), 4 = 404, 2 anything else.
imds_request() {
	perl -MHTTP::Tiny -e '
		my ($method, $url, $name, $value) = @ARGV;
		my %headers;
		$headers{$name} = $value if defined $name;
		# proxy/http_proxy given (as undef): HTTP::Tiny then reads no proxy from the environment.
		my $http = HTTP::Tiny->new(timeout => 5, proxy => undef, http_proxy => undef);
		my $r = $http->request($method, $url, { headers => \%headers });
		if ($r->{success}) { print $r->{content}; exit 0; }
		print STDERR "$method $url: $r->{status} $r->{reason}\n" unless $r->{status} == 404;
		exit($r->{status} == 401 ? 3 : $r->{status} == 404 ? 4 : 2);
	' "$@"
}

new_token() {
	imds_request PUT "$IMDS/latest/api/token" X-aws-ec2-metadata-token-ttl-seconds "$TOKEN_TTL"
}

# GET /latest/PATH with the session token; a 401 (the token expired) gets one new token and one retry.
imds_get() {
	imds_request GET "$IMDS/latest/$1" X-aws-ec2-metadata-token "$TOKEN"
	rc=$?
	[ $rc -eq 3 ] || return $rc
	TOKEN=$(new_token) || return 2
	imds_request GET "$IMDS/latest/$1" X-aws-ec2-metadata-token "$TOKEN"
}

print_fingerprints() {
	echo "$BEGIN_MARKER"
	for key in /etc/ssh/ssh_host_*_key.pub; do
		[ -f "$key" ] && ssh-keygen -lf "$key"
	done
	echo "$END_MARKER"
}

wait_for_token() {
	n=0
	while [ $n -lt $ATTEMPTS ]; do
		TOKEN=$(new_token 2>/dev/null) && [ -n "$TOKEN" ] && return 0
		n=$((n + 1))
		sleep 2
	done
	return 1
}

set_hostname() {
	name=$(imds_get meta-data/local-hostname) || name=$(imds_get meta-data/hostname) || name=
	case $name in
	'' | *[!A-Za-z0-9.-]*)
		say "no usable hostname in the instance metadata ('$name'); keeping $(hostname)"
		return 0 ;;
	esac
	echo "$name" > /etc/myname
	hostname "$name"
	say "hostname $name"
}

# Keys no other instance of this image has: the image's own were made when it was built.
new_host_keys() {
	rm -f /etc/ssh/ssh_host_*key /etc/ssh/ssh_host_*key.pub
	ssh-keygen -A || return 1
	if rcctl check sshd >/dev/null 2>&1; then
		rcctl restart sshd >/dev/null || return 1
	fi
	say "new SSH host keys generated"
}

install_instance_key() {
	key=$(imds_get meta-data/public-keys/0/openssh-key) || {
		say "the instance has no public key (launched without a key pair); $BUILD_USER keeps the image's keys"
		return 0
	}
	home=$(grep "^$BUILD_USER:" /etc/passwd | cut -d: -f6)
	[ -n "$home" ] || { say "no user $BUILD_USER on this image"; return 1; }
	mkdir -p "$home/.ssh"
	# The keys the image was built with, kept once; each instance adds its own key to them.
	[ -f "$STATE/authorized_keys.image" ] || cp "$home/.ssh/authorized_keys" "$STATE/authorized_keys.image" 2>/dev/null ||
		: > "$STATE/authorized_keys.image"
	{ cat "$STATE/authorized_keys.image"; echo "$key"; } > "$home/.ssh/authorized_keys.new"
	chmod 600 "$home/.ssh/authorized_keys.new"
	mv -f "$home/.ssh/authorized_keys.new" "$home/.ssh/authorized_keys"
	chown -R "$BUILD_USER" "$home/.ssh"
	chmod 700 "$home/.ssh"
	say "instance key installed for $BUILD_USER"
}

# A user-data line "# openbsdbuild: self-destruct-minutes=N" powers the instance off N minutes
# after its first boot (with InstanceInitiatedShutdownBehavior=terminate, that ends it).
arm_self_destruct() {
	minutes=$(sed -n 's/^#[[:space:]]*openbsdbuild:[[:space:]]*self-destruct-minutes=\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$1" | head -n 1)
	[ -n "$minutes" ] || return 0
	if shutdown -p "+$minutes" 'OpenBsdBuild: maximum lifetime reached' </dev/null; then
		say "self-destruct armed: power-off in $minutes minutes"
	else
		say "could not arm the self-destruct; powering off now"
		halt -p
	fi
}

# Reads the user data once per instance and arms the self-destruct it asks for, before the host keys are
# printed: an instance New-OpenBsdInstance calls ready (it waits for the fingerprints) has its lifetime
# bounded. A script is kept in $SCRIPT for run_user_data, which runs after the fingerprints are out.
read_user_data() {
	data=$STATE/user-data
	imds_get user-data > "$data.new"
	rc=$?
	if [ $rc -eq 4 ]; then
		rm -f "$data.new"
		say "no user data"
		echo "$ID" > "$STATE/user-data.done"
		return 0
	fi
	[ $rc -eq 0 ] || { rm -f "$data.new"; return 1; }
	mv -f "$data.new" "$data"
	chmod 700 "$data"
	# Recorded before it runs: a script that reboots the instance is not run a second time.
	echo "$ID" > "$STATE/user-data.done"
	arm_self_destruct "$data"
	IFS= read -r first < "$data"
	case $first in
	'#!'*)	SCRIPT=$data ;;
	*)	say "the user data is not a script; not run" ;;
	esac
}

run_user_data() {
	say "running the user data"
	"$1" > "$STATE/user-data.log" 2>&1
	status=$?
	cat "$STATE/user-data.log"
	say "the user data exited with status $status (log: $STATE/user-data.log)"
}

main() {
	[ "$(id -u)" -eq 0 ] || { say "must run as root"; exit 1; }
	mkdir -p "$STATE"
	chmod 700 "$STATE"
	if ! wait_for_token; then
		say "no instance metadata service at $IMDS (not on EC2?); nothing configured"
		print_fingerprints
		exit 0
	fi
	ID=$(imds_get meta-data/instance-id) || { say "could not read the instance id"; print_fingerprints; exit 1; }
	if [ "$(cat "$STATE/instance-id" 2>/dev/null)" != "$ID" ]; then
		say "first boot of instance $ID"
		set_hostname
		new_host_keys || say "could not generate new SSH host keys"
		install_instance_key || say "could not install the instance key"
		echo "$ID" > "$STATE/instance-id"
	fi
	SCRIPT=
	if [ "$(cat "$STATE/user-data.done" 2>/dev/null)" != "$ID" ]; then
		read_user_data || say "could not read the user data"
	fi
	print_fingerprints
	[ -z "$SCRIPT" ] || run_user_data "$SCRIPT"
}

main "$@"
