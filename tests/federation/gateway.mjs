// Compose subgraphs with @apollo/composition and serve the supergraph through @apollo/gateway.
//   node gateway.mjs PORT NAME=URL [NAME=URL ...]
// Prints "READY <port>" when serving; exits 1 with the composition errors when composition fails.
import { composeServices } from "@apollo/composition";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { parse } from "graphql";

const [port, ...subgraphArgs] = process.argv.slice(2);
const subgraphs = [];
for (const arg of subgraphArgs) {
  const [name, url] = arg.split("=");
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = await response.json();
  subgraphs.push({ name, url, typeDefs: parse(body.data._service.sdl) });
}
const composed = composeServices(subgraphs);
if (composed.errors) {
  console.error(composed.errors.map((error) => error.message).join("\n"));
  process.exit(1);
}
const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(port), host: "127.0.0.1" } });
console.log(`READY ${url}`);
