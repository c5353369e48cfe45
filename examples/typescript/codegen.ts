import type { CodegenConfig } from "@graphql-codegen/cli";

// The committed SDL of the served schema: no running server is needed to generate the types.
// VEERKRACHT_SCHEMA overrides the path (the repository's test points it at the schema from a copy).
const schema = process.env.VEERKRACHT_SCHEMA ?? "../../schema/schema.graphql";

const config: CodegenConfig = {
  schema,
  documents: ["src/**/*.ts", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        // The API's custom scalars, as they travel in JSON.
        scalars: { Date: "string", DateTime: "string", JSON: "unknown" },
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: false,
      },
    },
  },
};

export default config;
