/** The node's view of the deployed protocol: ABIs, addresses, clients, reads with decoded reverts, and the sender. */
import type { ContractFunctionArgs, ContractFunctionName, ContractFunctionReturnType, PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ContractAbi, ContractKey, ProtocolAbis, ProtocolAddresses } from "./contracts.ts";
import { decodeRevert, revertDataOf } from "./revert.ts";
import type { TxSender } from "./tx-sender.ts";

type ReadMutability = "pure" | "view";

export class ProtocolChain {
  readonly abis: ProtocolAbis;
  readonly addresses: ProtocolAddresses;
  readonly client: PublicClient;
  readonly account: PrivateKeyAccount;
  readonly sender: TxSender;

  constructor(init: { abis: ProtocolAbis; addresses: ProtocolAddresses; client: PublicClient; account: PrivateKeyAccount; sender: TxSender }) {
    this.abis = init.abis;
    this.addresses = init.addresses;
    this.client = init.client;
    this.account = init.account;
    this.sender = init.sender;
  }

  /** Reads a view function; a revert becomes a ContractRevertError that names the custom error. */
  async read<K extends ContractKey, F extends ContractFunctionName<ContractAbi<K>, ReadMutability>>(
    contract: K,
    functionName: F,
    args: ContractFunctionArgs<ContractAbi<K>, ReadMutability, F>,
  ): Promise<ContractFunctionReturnType<ContractAbi<K>, ReadMutability, F>> {
    try {
      return (await this.client.readContract({ address: this.addresses[contract], abi: this.abis[contract], functionName, args } as never)) as never;
    } catch (error) {
      const data = revertDataOf(error);
      if (data !== undefined) throw decodeRevert(this.abis, contract, data, { cause: error });
      throw error;
    }
  }
}
