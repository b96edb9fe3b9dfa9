/** The Set-Cookie scoping rules alone (set-cookie.ts); through the gateway: cookie-scope.test.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cookieHostFor, scopeRawSetCookies, scopeSetCookie, scopeSetCookies } from '../../src/gateway/set-cookie.js';

const OWN = 'vm1.cubby.test';

test('a Domain naming anything but the own host is dropped; the rest of the cookie stays byte for byte', () => {
  const cases: Array<[string, string]> = [
    ['sid=1; Domain=cubby.test; Path=/; HttpOnly', 'sid=1; Path=/; HttpOnly'],
    ['sid=1; Domain=.cubby.test', 'sid=1'],
    ['sid=1; Domain=localhost; Secure', 'sid=1; Secure'],
    ['sid=1; Domain=vm2.cubby.test; Max-Age=60', 'sid=1; Max-Age=60'],
    ['sid=1; Domain=other.example; SameSite=None; Secure; Partitioned', 'sid=1; SameSite=None; Secure; Partitioned'],
    ['sid=1; Domain=evil-vm1.cubby.test', 'sid=1'],
    ['sid=1; Domain=x.vm1.cubby.test', 'sid=1'],
    ['sid=1; Domain=vm1.cubby.test.', 'sid=1'],
    // Odd casing and whitespace, as browsers read attribute names.
    ['a=2; DOMAIN=.CUBBY.TEST; secure', 'a=2; secure'],
    ['a=2;domain=cubby.test;path=/', 'a=2;path=/'],
    ['a=2;\tDoMaIn\t =\t cubby.test ; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'a=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT'],
    // Malformed Domain attributes go too: they can only have widened or done nothing.
    ['m=6; Domain; Path=/x', 'm=6; Path=/x'],
    ['m=6; Domain=; Path=/x;;', 'm=6; Path=/x;;'],
    ['m=6; Domain="vm1.cubby.test"', 'm=6'],
    ['m=6; Domain=vm1.cubby.test; Domain=cubby.test', 'm=6; Domain=vm1.cubby.test'],
    // A quoted value is split where a browser splits it (at every ';'): nothing hides in quotes.
    ['q="x; Domain=cubby.test"; Path=/', 'q="x; Path=/'],
    ['q="a b"; Domain=cubby.test', 'q="a b"'],
    ['__Secure-u=5; Secure; Domain=cubby.test; Path=/', '__Secure-u=5; Secure; Path=/'],
  ];
  for (const [given, expected] of cases) assert.equal(scopeSetCookie(given, OWN), expected, given);
});

test('cookies already confined to the own host are untouched', () => {
  for (const same of [
    'own=3; Domain=vm1.cubby.test; Max-Age=60',
    'own=3; Domain=.VM1.cubby.test; Path=/a',
    'own=3; domain = vm1.cubby.test ; HttpOnly',
    '__Host-t=4; Secure; Path=/; SameSite=Strict',
    '__Secure-u=5; Secure; HttpOnly; SameSite=Lax; Partitioned',
    'plain=1',
    'noequals',
    '',
    'v=a=b; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    'domain=cubby.test; Path=/', // a cookie named "domain" is a name, not an attribute
  ])
    assert.equal(scopeSetCookie(same, OWN), same, same);
});

test('without an own host (header-routed E2B requests on the shared domain) every Domain goes', () => {
  assert.equal(scopeSetCookie('a=1; Domain=cubby.test; Path=/', undefined), 'a=1; Path=/');
  assert.equal(scopeSetCookie('a=1; Domain=vm1.cubby.test', undefined), 'a=1');
  assert.equal(scopeSetCookie('a=1; Path=/', undefined), 'a=1; Path=/');
});

test('several Set-Cookie values, as a list and as raw header pairs in any case', () => {
  assert.deepEqual(scopeSetCookies(['a=1; Domain=cubby.test', 'b=2; Domain=vm1.cubby.test', 'c=3'], OWN), [
    'a=1',
    'b=2; Domain=vm1.cubby.test',
    'c=3',
  ]);
  const raw = [
    'Content-Type',
    'text/plain',
    'SET-COOKIE',
    'a=1; Domain=cubby.test; Path=/',
    'x-domain',
    'Domain=cubby.test',
    'set-cookie',
    'b=2; domain=.cubby.test',
    'Set-Cookie',
    'c=3; Domain=vm1.cubby.test',
  ];
  assert.deepEqual(scopeRawSetCookies(raw, OWN), [
    'Content-Type',
    'text/plain',
    'SET-COOKIE',
    'a=1; Path=/',
    'x-domain',
    'Domain=cubby.test',
    'set-cookie',
    'b=2',
    'Set-Cookie',
    'c=3; Domain=vm1.cubby.test',
  ]);
});

test('the own host comes from the Host header (no port, no trailing dot, lower case), none for the E2B header form', () => {
  assert.equal(cookieHostFor('VM1.cubby.test:8080', 'lambda'), 'vm1.cubby.test');
  assert.equal(cookieHostFor('vm1.cubby.test.', 'lambda'), 'vm1.cubby.test');
  assert.equal(cookieHostFor('3000-vm1.cubby.test', 'e2b-host'), '3000-vm1.cubby.test');
  assert.equal(cookieHostFor('cubby.test', 'e2b-headers'), undefined);
  assert.equal(cookieHostFor(undefined, 'lambda'), undefined);
  assert.equal(cookieHostFor('', 'lambda'), undefined);
});
