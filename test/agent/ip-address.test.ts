import { test } from 'node:test'
import assert from 'node:assert/strict'
import { classifyAddress, IpNetwork, nat64Embedded, parseIp } from '../../agent/ip-address.js'
import type { AddressClass, IpAddress } from '../../agent/ip-address.js'

function ip (text: string): IpAddress {
  const parsed = parseIp(text)
  assert.ok(parsed, `${text} should parse`)
  return parsed
}

test('parseIp normalises IPv6 and turns IPv4-mapped addresses into IPv4', () => {
  const cases: Array<[string, IpAddress]> = [
    ['10.0.0.5', { address: '10.0.0.5', family: 4 }],
    ['::1', { address: '::1', family: 6 }],
    ['FD00:0:0:0:0:0:0:1', { address: 'fd00::1', family: 6 }],
    ['fd00:0000::0001', { address: 'fd00::1', family: 6 }],
    ['0:0:0:0:0:0:0:0', { address: '::', family: 6 }],
    ['::ffff:169.254.169.254', { address: '169.254.169.254', family: 4 }],
    ['::ffff:a9fe:a9fe', { address: '169.254.169.254', family: 4 }],
    ['0:0:0:0:0:FFFF:7F00:1', { address: '127.0.0.1', family: 4 }],
    ['::ffff:0:0', { address: '0.0.0.0', family: 4 }],
    ['64:ff9b::a9fe:a9fe', { address: '64:ff9b::a9fe:a9fe', family: 6 }],
    ['1:2:3:4:5:6:7:8', { address: '1:2:3:4:5:6:7:8', family: 6 }]
  ]
  for (const [text, expected] of cases) assert.deepEqual(parseIp(text), expected, text)
})

test('parseIp refuses what is not a plain IP address', () => {
  const cases = ['', 'localhost', '127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '[::1]',
    'fe80::1%eth0', '1.2.3.4.5', '::ffff:1.2.3', '10.0.0.0/8', ' 10.0.0.1']
  for (const text of cases) assert.equal(parseIp(text), undefined, text)
})

test('classifyAddress knows the blocked, loopback and open sets', () => {
  const cases: Array<[string, AddressClass]> = [
    ['169.254.169.254', 'blocked'], // AWS, GCP, Azure, OpenStack metadata
    ['169.254.170.2', 'blocked'], // ECS task metadata
    ['169.254.0.1', 'blocked'],
    ['169.254.255.255', 'blocked'],
    ['100.100.100.200', 'blocked'], // Alibaba metadata
    ['168.63.129.16', 'blocked'], // Azure WireServer
    ['0.0.0.0', 'blocked'],
    ['0.255.255.255', 'blocked'],
    ['224.0.0.1', 'blocked'],
    ['239.255.255.250', 'blocked'],
    ['255.255.255.255', 'blocked'],
    ['::', 'blocked'],
    ['fe80::1', 'blocked'],
    ['febf::1', 'blocked'],
    ['ff02::1', 'blocked'],
    ['fd00:ec2::254', 'blocked'],
    ['fd20:ce::254', 'blocked'],
    ['::ffff:169.254.169.254', 'blocked'],
    ['64:ff9b::a9fe:a9fe', 'blocked'], // NAT64 of the metadata address
    ['64:ff9b::7f00:1', 'loopback'], // NAT64 of 127.0.0.1
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.5', 'open'],
    ['172.16.0.1', 'open'],
    ['192.168.1.1', 'open'],
    ['100.64.0.1', 'open'],
    ['100.100.100.201', 'open'],
    ['8.8.8.8', 'open'],
    ['1.0.0.0', 'open'],
    ['128.0.0.1', 'open'],
    ['169.253.255.255', 'open'],
    ['169.255.0.0', 'open'],
    ['223.255.255.255', 'open'],
    ['fd00::1', 'open'],
    ['fd00:ec2::253', 'open'],
    ['fec0::1', 'open'],
    ['::2', 'open'],
    ['64:ff9b::a00:5', 'open'], // NAT64 of 10.0.0.5
    ['2001:db8::1', 'open']
  ]
  for (const [text, expected] of cases) assert.equal(classifyAddress(ip(text)), expected, text)
})

test('nat64Embedded extracts the IPv4 address of 64:ff9b::/96 only', () => {
  assert.deepEqual(nat64Embedded(ip('64:ff9b::a9fe:a9fe')), { address: '169.254.169.254', family: 4 })
  assert.deepEqual(nat64Embedded(ip('64:ff9b::1.2.3.4')), { address: '1.2.3.4', family: 4 })
  assert.equal(nat64Embedded(ip('64:ff9b:1::a9fe:a9fe')), undefined)
  assert.equal(nat64Embedded(ip('65:ff9b::a9fe:a9fe')), undefined)
  assert.equal(nat64Embedded(ip('169.254.169.254')), undefined)
})

test('IpNetwork contains the addresses of its prefix, mapped forms included', () => {
  const v4 = new IpNetwork(ip('10.0.0.0'), 8)
  assert.equal(v4.contains(ip('10.255.0.1')), true)
  assert.equal(v4.contains(ip('::ffff:10.1.2.3')), true)
  assert.equal(v4.contains(ip('11.0.0.0')), false)
  assert.equal(v4.contains(ip('64:ff9b::a00:5')), false)
  const v6 = new IpNetwork(ip('fd00::'), 8)
  assert.equal(v6.contains(ip('fdff::1')), true)
  assert.equal(v6.contains(ip('fc00::1')), false)
  const single = new IpNetwork(ip('::1'), 128)
  assert.equal(single.contains(ip('0:0:0:0:0:0:0:1')), true)
  assert.equal(single.contains(ip('::2')), false)
})
