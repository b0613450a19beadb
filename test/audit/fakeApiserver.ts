import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

/** How the fake answers one path: a body, pages keyed by `continue`, or an error status. */
export interface Route {
  status?: number;
  body?: unknown;
  pages?: unknown[];
  /** The field selector the request must carry (answered 400 otherwise). */
  fieldSelector?: string;
}

export type Routes = Record<string, Route>;

export function recordedRoutes(): Routes {
  const fixture = JSON.parse(readFileSync("test/fixtures/audit/apiserver.json", "utf8")) as {
    routes: Routes;
  };
  return fixture.routes;
}

export interface FakeApiserver {
  url: string;
  /** Every request's path and query, in order. */
  requests: string[];
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

/** An HTTP server that answers list calls as kube-apiserver does, from recorded responses. */
export async function startFakeApiserver(routes: Routes): Promise<FakeApiserver> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push(`${url.pathname}${url.search}`);
    // A route keyed `<path>?fieldSelector=<selector>` answers that selector; `<path>` answers the rest.
    const selector = url.searchParams.get("fieldSelector");
    const route =
      (selector === null ? undefined : routes[`${url.pathname}?fieldSelector=${selector}`]) ??
      routes[url.pathname];
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (!route) {
      send(404, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "NotFound",
        code: 404,
        message: "the server could not find the requested resource",
      });
      return;
    }
    if (route.fieldSelector !== undefined && url.searchParams.get("fieldSelector") !== route.fieldSelector) {
      send(400, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        code: 400,
        message: `expected fieldSelector ${route.fieldSelector}`,
      });
      return;
    }
    if (route.pages) {
      const token = url.searchParams.get("continue");
      const index = token === null ? 0 : Number(token.replace("page-", "")) - 1;
      send(200, route.pages[index]);
      return;
    }
    send(route.status ?? 200, route.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
        users: [{ name: "auditor", token: "not-a-secret" }],
        contexts: [{ name: "fake", cluster: "fake", user: "auditor" }],
        currentContext: "fake",
      });
      return kc;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
