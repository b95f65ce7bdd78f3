/** A deployment for tests that build contract calls, whatever .data/ holds (no chain is contacted). */
export const fakeDeployment = {
  rpcUrl: "http://127.0.0.1:8545",
  chainId: 31337,
  contracts: {
    token: "0x0000000000000000000000000000000000000001",
    datanets: "0x0000000000000000000000000000000000000002",
    nodes: "0x0000000000000000000000000000000000000003",
    models: "0x0000000000000000000000000000000000000004",
    settlement: "0x0000000000000000000000000000000000000005",
  },
} as const;
