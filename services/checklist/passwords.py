"""The password policy of the register's accounts, and temporary passwords.

A password must be at least 12 characters (at most 200), not the username,
not one character repeated, and not one of a small list of passwords that
are known to be common (compared ignoring case). `problems` names every
rule a password breaks, so a 400 can say which."""
import secrets

MIN_LENGTH = 12
MAX_LENGTH = 200

# Long passwords that breach lists show again and again (shorter ones fail
# the length rule anyway), lower case.
COMMON = frozenset("""
123456789012 1234567890123 12345678901234 123456789000 123456123456 123123123123
123412341234 121212121212 112233445566 111222333444 987654321012 098765432109
147258369147 147258369258 159357159357 123321123321 123654789123 135792468000
1q2w3e4r5t6y 1qaz2wsx3edc 1qaz2wsx3edc4rfv 1qaz@wsx3edc q1w2e3r4t5y6 a1b2c3d4e5f6
zaq12wsxcde3 qwertyuiop12 qwertyuiop123 qwertyuiopasdf qwerty123456 qwerty1234567
123456qwerty 1234qwerasdf qwertyqwerty qweasdzxc123 qazwsxedcrfv asdfghjkl123
asdfasdfasdf zxcvbnm12345 abcdefghijkl abcdefgh1234 abc123abc123 abcd1234abcd
1234abcd1234 12345678abcd 12345678qwer password1234 password12345 password123456
password123! passw0rd1234 p@ssw0rd1234 p@ssword1234 passwordpassword
password1password mypassword123 admin1234567 admin12345678 admin@123456
adminadmin123 administrator administrator1 changeme1234 changeme123! welcome12345
welcome123456 welcome@1234 letmein12345 letmein123456 iloveyou1234 iloveyou123456
iloveyouiloveyou sunshine1234 football1234 baseball1234 princess1234 starwars1234
dragon123456 monkey123456 master123456 superman1234 whatever1234 computer1234
internet1234 default12345 secret123456 test12345678 testtest1234 5201314520131
520131452013 woaini1314520 woaini123456 woainiwoaini einspection einspection1
einspection123 e-inspection1 safety123456
""".split())

# Temporary passwords: no letters or digits that read alike (l 1, o 0).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def problems(password, username=None):
    """Every rule `password` breaks, as reasons for the field (empty: none)."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append("must be at least %d characters" % MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        found.append("must be at most %d characters" % MAX_LENGTH)
    if username and password.lower() == username.lower():
        found.append("must not be the username")
    if password and len(set(password)) == 1:
        found.append("must not be one character repeated")
    if password.lower() in COMMON:
        found.append("is a commonly used password")
    return found


def temporary():
    """A one-time password for a reset: four groups of four, e.g.
    'k7wq-m2xe-9fht-p3ra' (about 80 bits)."""
    while True:
        password = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4))
                            for _ in range(4))
        if not problems(password):
            return password
