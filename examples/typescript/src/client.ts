/**
 * A tiny typed client for the Veerkracht API: plain `fetch`, no framework.
 *
 *   npm ci && npm start                                   # http://127.0.0.1:8000/graphql
 *   VEERKRACHT_URL=https://example.org/graphql npm start   # another server
 *
 * `request(document, variables)` takes a document from ./queries.ts: its result and variable types come
 * from src/gql/ (`npm run codegen`), so a typo in a field or a wrong variable fails `npm run typecheck`.
 */
import { pathToFileURL } from "node:url";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import type { InitiativesPageQuery } from "./gql/graphql.js";
import { InitiativesPage, MunicipalityInvolvements } from "./queries.js";

/** Where the API is served; the README's `veerkracht serve` listens here. */
export const DEFAULT_URL = "http://127.0.0.1:8000/graphql";

/** One error as the API reports it: `extensions.code` is stable ("BAD_USER_INPUT", "NOT_FOUND", ...). */
export interface ApiError {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; argument?: string; [key: string]: unknown };
}

/** Thrown when the API answers with `errors` (or not with GraphQL at all). */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly errors: readonly ApiError[],
    readonly status: number,
  ) {
    super(message);
    this.name = "GraphQLRequestError";
  }

  /** The `extensions.code` of the first error: what a client acts on. */
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

export interface RequestOptions {
  /** The GraphQL endpoint; VEERKRACHT_URL or the local default when omitted. */
  url?: string;
  /** An API token (`veerkracht token create`); reads need none unless the service requires one. */
  token?: string;
  signal?: AbortSignal;
}

/** POST one operation; resolve to its typed `data`, or throw a GraphQLRequestError. */
export async function request<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  options: RequestOptions = {},
): Promise<TResult> {
  const url = options.url ?? process.env.VEERKRACHT_URL ?? DEFAULT_URL;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/graphql-response+json, application/json",
  };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const init: RequestInit = {
    method: "POST",
    headers,
    body: JSON.stringify({ query: print(document), variables }),
  };
  if (options.signal) init.signal = options.signal;
  const response = await fetch(url, init);

  let body: { data?: TResult | null; errors?: ApiError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new GraphQLRequestError(`${url} answered ${response.status} without JSON`, [], response.status);
  }
  if (body.errors?.length) {
    const summary = body.errors.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; ");
    throw new GraphQLRequestError(summary, body.errors, response.status);
  }
  if (!response.ok || body.data == null) {
    throw new GraphQLRequestError(`${url} answered ${response.status} without data`, [], response.status);
  }
  return body.data;
}

/** Print Maashorst's involvements (its predecessors' included), then page through pilots and test beds. */
export async function main(): Promise<void> {
  const { municipality } = await request(MunicipalityInvolvements, { code: "GM1991" });
  if (!municipality) throw new Error("GM1991 (Maashorst) not found");
  const formed = municipality.formedBy;
  console.log(`${municipality.name} (${municipality.code})`);
  if (formed) {
    const from = formed.dissolvedMunicipalities.map((m) => m.name).join(", ");
    console.log(`  formed on ${formed.effectiveOn} from ${from}`);
  }
  for (const { role, initiative, participant } of municipality.involvements.nodes) {
    // `participant` is the municipality the source names: Maashorst itself, or Landerd or Uden before 2022.
    console.log(`  ${role.padEnd(12)} ${initiative.name}  (as ${participant.name}, a ${participant.__typename})`);
  }

  console.log("Pilots and test beds:");
  let after: string | null = null;
  let page = 0;
  do {
    const { initiatives }: InitiativesPageQuery = await request(InitiativesPage, {
      first: 2,
      after,
      filter: { kinds: ["PILOT", "TEST_BED"] },
    });
    page += 1;
    for (const initiative of initiatives.nodes) {
      console.log(`  [page ${page}] ${initiative.name} (${initiative.kind}, ${initiative.status})`);
    }
    after = initiatives.pageInfo.hasNextPage ? initiatives.pageInfo.endCursor : null;
  } while (after);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof GraphQLRequestError ? `The API refused: ${error.message}` : error);
    process.exitCode = 1;
  });
}
