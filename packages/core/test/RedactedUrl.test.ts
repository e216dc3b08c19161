import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { RedactedUrl, redactUrl } from "../src/index.ts"
import * as A from "./arbitraries.ts"

// Any string a person might use as a user name or password, with the characters a URL must
// escape (`@`, `:`, `/`, `#`, `?`, `%`, spaces, non-ASCII). The password carries a marker, so the
// property can look for it whatever else the URL holds.
const pieces = ["@", "#", "/", "?", ":", "%", "%40", " ", "h", "x", "é", "\u0000", "[", "]", "=", "&"]
// Any string, or one made mostly of the characters that end a URL's parts.
const credential = Arbitrary.map(
  Arbitrary.all([
    Arbitrary.schema(Schema.String),
    Arbitrary.array(A.oneOf(pieces), { maxLength: 8 }),
    Arbitrary.schema(Schema.Boolean)
  ]),
  ([any, picked, structured]) => (structured ? picked.join("") : any)
)
const marker = "Pw9x"

const hosts = ["livestream.adobe.net", "127.0.0.1:8080", "[::1]:9000", "example.com"]
const hostArb = A.oneOf(hosts)

const urlWith = (user: string, password: string, host: string, path: string): URL => {
  const url = new URL(`http://${host}/`)
  url.pathname = `/api/1/stream/${path}`
  url.username = user
  url.password = password
  return url
}

describe("RedactedUrl", () => {
  it.each([
    ["http://u:p4ss@host/a", "http://***@host/a"],
    ["https://user@livestream.adobe.net/api/1/stream/e", "https://***@livestream.adobe.net/api/1/stream/e"],
    ["http://:secret@h:81/", "http://***@h:81/"],
    ["https://h/x?access_token=abc&reset=smallest", "https://h/x?access_token=***&reset=smallest"],
    [
      "https://h/x?X-Amz-Signature=abc&sig=def&api_key=k",
      "https://h/x?X-Amz-Signature=***&sig=***&api_key=***"
    ],
    ["https://h/#access_token=abc&state=1", "https://h/#access_token=***&state=1"],
    ["https://livestream.adobe.net/api/1/stream/e", "https://livestream.adobe.net/api/1/stream/e"],
    // Not URLs, as an error quotes what the operator typed.
    ["http://u:p/ss@host/x", "http://***@host/x"],
    ["not a url", "not a url"],
    ["ftp//u:p@h", "ftp//u:p@h"]
  ])("redactUrl(%j) is %j", (input, expected) => {
    assert.strictEqual(redactUrl(input), expected)
  })

  it("takes URL objects, and does not change them", () => {
    const url = new URL("http://a:b@c.example/d")
    assert.strictEqual(redactUrl(url), "http://***@c.example/d")
    assert.strictEqual(url.password, "b")
  })

  it("redacts every URL in a line of text", () => {
    assert.strictEqual(
      RedactedUrl.redactText(
        "GET http://u:p@h/x failed; redirected to https://v:q@i/y?token=t (see https://ok/z)"
      ),
      "GET http://***@h/x failed; redirected to https://***@i/y?token=*** (see https://ok/z)"
    )
  })

  it("masks credentials typed with a `#` in them, which put the password in the fragment", () => {
    assert.strictEqual(redactUrl("http://Pw9x\u0000@'#:Pw9xl@[::1]:9000/api"), "http://***@[::1]:9000/api")
    assert.strictEqual(redactUrl("http://u@h/#x:Pw9x@host/api"), "http://***@host/api")
  })

  it("names an endpoint by host and path only", () => {
    assert.strictEqual(
      RedactedUrl.endpointKey("http://u:p4ss@host:8080/api/1/stream/e?token=x"),
      "host:8080/api/1/stream/e"
    )
  })

  it.prop(
    "never shows the password or user name, as URL or as text, and keeps host and path",
    [credential, credential, hostArb, credential],
    ([user, rest, host, path]) => {
      const password = `${marker}${rest}`
      const url = urlWith(`${marker}${user}`, password, host, path)
      const shown = redactUrl(url.href)
      assert.notInclude(shown, marker)
      assert.notInclude(redactUrl(url), marker)
      if (`${url.pathname}${url.search}${url.hash}`.includes("@")) {
        // An `@` after the host could end typed credentials: the URL is masked up to the last.
        assert.isTrue(shown.startsWith("http://***@"), shown)
      } else {
        const back = new URL(shown)
        assert.strictEqual(back.username, "***")
        assert.strictEqual(back.password, "")
        assert.strictEqual(back.host, url.host)
        assert.strictEqual(back.pathname, url.pathname)
      }
      // As typed by a person (unencoded, maybe unparsable) inside a message. Free text ends a URL
      // at whitespace, so the typed credentials have none.
      const [u, p] = [user, password].map((s) => s.replace(/\s/g, ""))
      assert.notInclude(RedactedUrl.redactText(`connecting to http://${u}:${p}@${host}/api failed`), marker)
      assert.notInclude(redactUrl(`http://${u}:${p}@${host}/api`), marker)
      assert.notInclude(RedactedUrl.endpointKey(url), marker)
    }
  )
})
